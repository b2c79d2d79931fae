// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @notice Where a proposal to change the authority set stands.
/// Pending: collecting votes and can still take effect. Scheduled: approved; its snapshot
/// takes effect at (or took effect from) its effective block. Expired: never approved, and its
/// effective block has been reached or lies before a change scheduled since.
enum AuthorityProposalState {
    Unknown,
    Pending,
    Scheduled,
    Expired
}

/// @title IAuthoritySetErrors
/// @notice Custom errors of AuthoritySet.
interface IAuthoritySetErrors {
    /// @notice The initial authority set is empty.
    error AuthoritySetEmpty();
    /// @notice The zero address cannot be an authority.
    error AuthorityZeroAddress();
    /// @notice `account` appears twice in the initial authority set.
    error AuthorityDuplicate(address account);
    /// @notice The set would hold `count` authorities, more than `maxCount`.
    error AuthoritySetTooLarge(uint256 count, uint256 maxCount);
    /// @notice `account` is already in the latest scheduled set; it cannot be added.
    error AuthorityAlreadyMember(address account);
    /// @notice `account` is not in the latest scheduled set; it cannot be removed.
    error AuthorityNotMember(address account);
    /// @notice Removing `account` would leave the set empty.
    error AuthorityLastMember(address account);
    /// @notice `caller` is neither an authority at the current block nor the regulator.
    error AuthorityProposerUnauthorized(address caller);
    /// @notice `caller` is not an authority in the set in force at `blockNumber`.
    error AuthorityNotAuthority(address caller, uint256 blockNumber);
    /// @notice A change must take effect after the current block.
    error AuthorityEffectiveBlockNotFuture(uint256 effectiveBlock, uint256 currentBlock);
    /// @notice A change must not take effect before the last scheduled change.
    error AuthorityChangeOutOfOrder(uint256 effectiveBlock, uint256 lastScheduledBlock);
    /// @notice No proposal has id `id`.
    error AuthorityUnknownProposal(uint256 id);
    /// @notice Proposal `id` is already scheduled, effective at `effectiveBlock`.
    error AuthorityProposalAlreadyScheduled(uint256 id, uint256 effectiveBlock);
    /// @notice `voter` has already voted for proposal `id`.
    error AuthorityAlreadyVoted(uint256 id, address voter);
    /// @notice Proposal `id` has `votes` of the current authorities; it needs `quorum`.
    error AuthorityQuorumNotReached(uint256 id, uint256 votes, uint256 quorum);
    /// @notice Equivocation evidence names vote kind `kind`, neither 1 (prevote) nor 2 (precommit).
    error AuthorityEvidenceBadKind(uint8 kind);
    /// @notice Both signatures of the evidence are for `blockHash` at `height` (two votes at a
    /// height, or two seals at a step: `height` is then the step): no conflict.
    error AuthorityEvidenceSameBlock(uint64 height, bytes32 blockHash);
    /// @notice The evidence's signature of the vote (or seal) for `blockHash` is malformed or high-s.
    error AuthorityEvidenceBadSignature(bytes32 blockHash);
    /// @notice The evidence's two signatures were made by `first` and `second`, not one authority.
    error AuthorityEvidenceSignersDiffer(address first, address second);
}

/// @title IAuthoritySet
/// @notice The proof-of-authority sealers by block, changed by a vote of the authorities or
/// by the regulator, each change effective from a stated block.
interface IAuthoritySet is IAuthoritySetErrors {
    /// @notice Emitted after proposal `id` to add (`add`) or remove `account` was recorded.
    event AuthorityProposed(
        uint256 indexed id,
        address indexed proposer,
        address indexed account,
        bool add,
        uint64 effectiveBlock
    );
    /// @notice Emitted after `voter` voted for `id`; `votes` of the current authorities, `quorum` needed.
    event AuthorityVoted(uint256 indexed id, address indexed voter, uint256 votes, uint256 quorum);
    /// @notice Emitted after proposal `id` was approved (by quorum or by the regulator) and its
    /// set of `newCount` authorities scheduled to take effect at `effectiveBlock`.
    event AuthorityChangeScheduled(
        uint256 indexed id,
        address indexed account,
        bool add,
        uint64 effectiveBlock,
        uint256 newCount,
        bool byRegulator
    );

    /// @notice Emitted after `offender`'s two `kind` votes at `height` for `hashA` and `hashB`
    /// were accepted as evidence from `reporter`; it is out of the set from `effectiveBlock`.
    event AuthorityEquivocationReported(
        address indexed offender,
        uint8 kind,
        uint64 height,
        bytes32 hashA,
        bytes32 hashB,
        uint64 effectiveBlock,
        address indexed reporter
    );

    /// @notice Emitted after `offender`'s two seals at Aura step `step`, over the bare headers
    /// `hashA` and `hashB`, were accepted as evidence from `reporter`; it is out of the set from
    /// `effectiveBlock`.
    event AuthoritySealEquivocationReported(
        address indexed offender,
        uint64 step,
        bytes32 hashA,
        bytes32 hashB,
        uint64 effectiveBlock,
        address indexed reporter
    );

    /// @notice The authorities in force at block `blockNumber`, in turn order (proposer of
    /// step s is element s mod length).
    /// @param blockNumber The block whose sealers are wanted.
    function authoritiesAt(uint256 blockNumber) external view returns (address[] memory);
    /// @notice Whether `account` is an authority in the set in force at block `blockNumber`.
    /// @param account The account.
    /// @param blockNumber The block.
    function isAuthorityAt(address account, uint256 blockNumber) external view returns (bool);
}
