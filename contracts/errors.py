"""The contracts package's exception hierarchy."""


class ContractsError(Exception):
    """Base of every error raised by the contracts package."""


class ContractBuildError(ContractsError, RuntimeError):
    """The compiler could not be run or reported errors or warnings."""


class ArtifactMissingError(ContractsError, LookupError):
    """No committed artifact exists for the requested contract name."""


class ReadingInputError(ContractsError, ValueError):
    """A meter reading or signature field is out of its on-chain range."""
