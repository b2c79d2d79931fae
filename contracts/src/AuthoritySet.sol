// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {RegistryGated} from "./RegistryGated.sol";
import {GridRoles} from "./libraries/GridRoles.sol";
import {IRegistry} from "./interfaces/IRegistry.sol";
import {AuthorityProposalState, IAuthoritySet} from "./interfaces/IAuthoritySet.sol";

/// @title AuthoritySet
/// @notice The proof-of-authority sealers of the chain, by block. The set is a list of
/// snapshots, each in force from its effective block until the next one's; the set in force
/// at block N seals block N (proposer of step s = authorities[s mod n]), and nodes read it by
/// calling `authoritiesAt(N)` on the state of block N - 1.
///
/// A change (add or remove one account) is proposed by a current authority or the regulator
/// and approved either by votes of more than half of the authorities in force at the current
/// block (the proposer's vote counts) or by the regulator. Approval appends a snapshot: the
/// latest scheduled set with `account` appended (add) or taken out, the others keeping their
/// order (remove). A change must take effect after the block that approves it and not before
/// the last scheduled change, so snapshots stay ordered and no block's set changes once a node
/// may have read it. A proposal not approved by its effective block, or overtaken by a later
/// scheduled change, expires.
///
/// Equivocation: anyone may submit two finality votes signed by one authority, of one kind,
/// at one height, for different blocks (`reportEquivocation`), or two block seals signed by
/// one authority at one Aura step over different headers (`reportSealEquivocation`); the
/// offender is removed from the next block on (or from the last scheduled change, if that is
/// later).
contract AuthoritySet is RegistryGated, IAuthoritySet {
    /// @notice Most authorities a set may hold; bounds every loop over a set.
    uint256 public constant MAX_AUTHORITIES = 32;

    /// @notice Domain prefix of a finality vote's digest (node.consensus.votes.vote_digest).
    bytes public constant VOTE_DOMAIN = "gridledger/finality-vote/v2";
    /// @notice Domain prefix of a block seal's digest (node.ledger.embedded.aura.seal_digest).
    bytes public constant SEAL_DOMAIN = "gridledger/aura-seal/v1";
    /// @notice Vote kinds: prevote and precommit.
    uint8 public constant PREVOTE = 1;
    uint8 public constant PRECOMMIT = 2;

    struct Proposal {
        address account;
        uint64 effectiveBlock;
        bool add;
        bool scheduled;
        address proposer;
    }

    struct Snapshot {
        uint64 effectiveBlock;
        address[] members;
    }

    /// @notice Number of proposals made; ids run from 1 to proposalCount.
    uint256 public proposalCount;

    Snapshot[] private _snapshots;
    mapping(uint256 id => Proposal) private _proposals;
    mapping(uint256 id => mapping(address authority => bool)) private _voted;

    /// @param registry_ The Registry holding the regulator role.
    /// @param initialAuthorities The set in force from block 0, in turn order: non-empty, at
    /// most MAX_AUTHORITIES, no zero address, no duplicates.
    constructor(IRegistry registry_, address[] memory initialAuthorities) RegistryGated(registry_) {
        uint256 n = initialAuthorities.length;
        if (n == 0) revert AuthoritySetEmpty();
        if (n > MAX_AUTHORITIES) revert AuthoritySetTooLarge(n, MAX_AUTHORITIES);
        for (uint256 i = 0; i < n; ++i) {
            address account = initialAuthorities[i];
            if (account == address(0)) revert AuthorityZeroAddress();
            for (uint256 j = 0; j < i; ++j) {
                if (initialAuthorities[j] == account) revert AuthorityDuplicate(account);
            }
        }
        Snapshot storage first = _snapshots.push();
        first.members = initialAuthorities;
    }

    // ------------------------------------------------------------------ changes

    /// @notice Propose adding or removing `account`, effective from block `effectiveBlock`.
    /// A proposal by the regulator is approved at once; one by an authority carries its vote
    /// (and is approved at once if that vote is a majority, e.g. of a single authority).
    /// @param account The account to add (not in the latest scheduled set) or remove (in it,
    /// and not its last member).
    /// @param add True to add `account`, false to remove it.
    /// @param effectiveBlock First block [block number] sealed by the changed set; after the
    /// current block and not before the last scheduled change.
    /// @return id The proposal's id.
    function propose(address account, bool add, uint64 effectiveBlock) external returns (uint256 id) {
        bool byRegulator = registry.hasRole(GridRoles.REGULATOR, msg.sender);
        if (!byRegulator && !_isMember(_setAt(block.number), msg.sender)) {
            revert AuthorityProposerUnauthorized(msg.sender);
        }
        if (account == address(0)) revert AuthorityZeroAddress();
        _requireCanTakeEffect(effectiveBlock);
        _requireApplicable(account, add);

        id = ++proposalCount;
        _proposals[id] = Proposal({
            account: account,
            effectiveBlock: effectiveBlock,
            add: add,
            scheduled: false,
            proposer: msg.sender
        });
        emit AuthorityProposed(id, msg.sender, account, add, effectiveBlock);
        if (byRegulator) {
            _schedule(id, true);
        } else {
            _castVote(id);
        }
    }

    /// @notice Vote for pending proposal `id`, as an authority in force at the current block.
    /// The vote that makes a majority of the current authorities schedules the change.
    /// @param id The proposal's id.
    function vote(uint256 id) external {
        if (!_isMember(_setAt(block.number), msg.sender)) {
            revert AuthorityNotAuthority(msg.sender, block.number);
        }
        _requirePending(id);
        if (_voted[id][msg.sender]) revert AuthorityAlreadyVoted(id, msg.sender);
        _castVote(id);
    }

    /// @notice Approve pending proposal `id` as the regulator, scheduling its change.
    /// @param id The proposal's id.
    function approve(uint256 id) external onlyRole(GridRoles.REGULATOR) {
        _requirePending(id);
        _schedule(id, true);
    }

    /// @notice Schedule pending proposal `id` whose votes are a majority of the current
    /// authorities (after the set shrank since the last vote); callable by anyone.
    /// @param id The proposal's id.
    function enact(uint256 id) external {
        _requirePending(id);
        (uint256 votes, uint256 quorum) = _tally(id);
        if (votes < quorum) revert AuthorityQuorumNotReached(id, votes, quorum);
        _schedule(id, false);
    }

    /// @notice Remove an authority that signed two finality votes of one kind at one height
    /// for different blocks (equivocation), from the next block on (or from the last
    /// scheduled change, if later); callable by anyone holding the two votes.
    /// @param kind The votes' kind: 1 prevote, 2 precommit.
    /// @param height The block number [block] both votes are for.
    /// @param hashA The block hash the first vote is for.
    /// @param sigA The first vote's 65-byte signature (r, s, v; v 0/1 or 27/28).
    /// @param hashB The block hash the second vote is for (not hashA).
    /// @param sigB The second vote's signature.
    /// @return offender The authority both votes recover to.
    /// @return effectiveBlock The first block [block number] sealed without it.
    function reportEquivocation(
        uint8 kind,
        uint64 height,
        bytes32 hashA,
        bytes calldata sigA,
        bytes32 hashB,
        bytes calldata sigB
    ) external returns (address offender, uint64 effectiveBlock) {
        if (kind != PREVOTE && kind != PRECOMMIT) revert AuthorityEvidenceBadKind(kind);
        if (hashA == hashB) revert AuthorityEvidenceSameBlock(height, hashA);
        offender = _signer(voteDigest(kind, height, hashA), hashA, sigA);
        address other = _signer(voteDigest(kind, height, hashB), hashB, sigB);
        if (other != offender) revert AuthorityEvidenceSignersDiffer(offender, other);
        effectiveBlock = _removeEquivocator(offender);
        emit AuthorityEquivocationReported(offender, kind, height, hashA, hashB, effectiveBlock, msg.sender);
    }

    /// @notice Remove an authority that sealed two different blocks at one Aura step (the
    /// proposer of a step seals one block for it), from the next block on (or from the last
    /// scheduled change, if later); callable by anyone holding the two seals. A seal is the
    /// proposer's signature over `sealDigest(step, bareHash)`, where bareHash is the keccak256
    /// of the block's RLP header with only the 8-byte step in extraData (no RLP is parsed here:
    /// two signed digests at one step for different hashes are the proof).
    /// @param step The Aura step [step] both blocks were sealed at.
    /// @param hashA The first block's bare header hash (header with only the step in extraData).
    /// @param sigA The first seal: 65 bytes (r, s, v; v 0/1 or 27/28), the last 65 of extraData.
    /// @param hashB The second block's bare header hash (not hashA).
    /// @param sigB The second seal.
    /// @return offender The authority both seals recover to.
    /// @return effectiveBlock The first block [block number] sealed without it.
    function reportSealEquivocation(
        uint64 step,
        bytes32 hashA,
        bytes calldata sigA,
        bytes32 hashB,
        bytes calldata sigB
    ) external returns (address offender, uint64 effectiveBlock) {
        if (hashA == hashB) revert AuthorityEvidenceSameBlock(step, hashA);
        offender = _signer(sealDigest(step, hashA), hashA, sigA);
        address other = _signer(sealDigest(step, hashB), hashB, sigB);
        if (other != offender) revert AuthorityEvidenceSignersDiffer(offender, other);
        effectiveBlock = _removeEquivocator(offender);
        emit AuthoritySealEquivocationReported(offender, step, hashA, hashB, effectiveBlock, msg.sender);
    }

    /// @notice The digest an authority signs for a finality vote on this chain and set.
    /// @param kind 1 prevote, 2 precommit.
    /// @param height The block number [block].
    /// @param blockHash The block's hash.
    function voteDigest(uint8 kind, uint64 height, bytes32 blockHash) public view returns (bytes32) {
        return keccak256(abi.encodePacked(VOTE_DOMAIN, block.chainid, address(this), kind, height, blockHash));
    }

    /// @notice The digest an authority signs to seal a block on this chain and set.
    /// @param step The block's Aura step [step].
    /// @param bareHash keccak256 of the block's RLP header with only the step in extraData.
    /// @return The keccak256 of (SEAL_DOMAIN, chain id, this contract, step, bareHash), packed.
    function sealDigest(uint64 step, bytes32 bareHash) public view returns (bytes32) {
        return keccak256(abi.encodePacked(SEAL_DOMAIN, block.chainid, address(this), step, bareHash));
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IAuthoritySet
    function authoritiesAt(uint256 blockNumber) external view returns (address[] memory) {
        return _setAt(blockNumber);
    }

    /// @notice The authorities in force at the current block, in turn order.
    function currentAuthorities() external view returns (address[] memory) {
        return _setAt(block.number);
    }

    /// @notice The set after every scheduled change: what the next change applies to.
    function scheduledAuthorities() external view returns (address[] memory) {
        return _snapshots[_snapshots.length - 1].members;
    }

    /// @notice Effective block of the last scheduled change (0 before any change).
    function lastScheduledBlock() external view returns (uint64) {
        return _snapshots[_snapshots.length - 1].effectiveBlock;
    }

    /// @inheritdoc IAuthoritySet
    function isAuthorityAt(address account, uint256 blockNumber) external view returns (bool) {
        return _isMember(_setAt(blockNumber), account);
    }

    /// @notice Number of snapshots: the initial set plus one per scheduled change.
    function snapshotCount() external view returns (uint256) {
        return _snapshots.length;
    }

    /// @notice Snapshot `index` (0 = the initial set): its effective block and members.
    /// @param index 0 to snapshotCount() - 1.
    function snapshotAt(uint256 index) external view returns (uint64 effectiveBlock, address[] memory members) {
        Snapshot storage s = _snapshots[index];
        return (s.effectiveBlock, s.members);
    }

    /// @notice Status of proposal `id`; `votes` counts the voters in the current set, `quorum`
    /// is a majority of that set.
    /// @param id The proposal's id.
    function proposal(uint256 id)
        external
        view
        returns (
            address account,
            bool add,
            uint64 effectiveBlock,
            address proposer,
            AuthorityProposalState state,
            uint256 votes,
            uint256 quorum
        )
    {
        Proposal storage p = _proposals[id];
        (votes, quorum) = _tally(id);
        return (p.account, p.add, p.effectiveBlock, p.proposer, _stateOf(id), votes, quorum);
    }

    /// @notice Whether `authority` has voted for proposal `id`.
    /// @param id The proposal.
    /// @param authority The voter.
    function hasVoted(uint256 id, address authority) external view returns (bool) {
        return _voted[id][authority];
    }

    // ------------------------------------------------------------------ internals

    function _castVote(uint256 id) private {
        _voted[id][msg.sender] = true;
        (uint256 votes, uint256 quorum) = _tally(id);
        emit AuthorityVoted(id, msg.sender, votes, quorum);
        if (votes >= quorum) _schedule(id, false);
    }

    /// @dev Appends the changed set as a snapshot. Callers checked that the proposal is pending
    /// (not scheduled, effective block in the future and not before the last change).
    function _schedule(uint256 id, bool byRegulator) private {
        Proposal storage p = _proposals[id];
        (address account, bool add, uint64 effectiveBlock) = (p.account, p.add, p.effectiveBlock);
        _requireApplicable(account, add);
        uint256 newCount = _appendSnapshot(account, add, effectiveBlock);
        p.scheduled = true;
        emit AuthorityChangeScheduled(id, account, add, effectiveBlock, newCount, byRegulator);
    }

    /// @dev The latest scheduled set with `account` appended (add) or taken out, in force from
    /// `effectiveBlock`; its size. Callers checked the change applies and the block's order.
    function _appendSnapshot(address account, bool add, uint64 effectiveBlock) private returns (uint256) {
        address[] storage latest = _snapshots[_snapshots.length - 1].members;
        Snapshot storage next = _snapshots.push();
        next.effectiveBlock = effectiveBlock;
        uint256 n = latest.length;
        for (uint256 i = 0; i < n; ++i) {
            address member = latest[i];
            if (add || member != account) next.members.push(member);
        }
        if (add) next.members.push(account);
        return next.members.length;
    }

    /// @dev The signer of `digest` (a vote's or a seal's, for `blockHash`); reverts for a
    /// malformed or high-s signature.
    function _signer(bytes32 digest, bytes32 blockHash, bytes calldata sig) private pure returns (address) {
        if (sig.length != 65) revert AuthorityEvidenceBadSignature(blockHash);
        bytes32 r = bytes32(sig[0:32]);
        bytes32 s = bytes32(sig[32:64]);
        uint8 v = uint8(sig[64]);
        if (v < 27) v += 27; // node keys sign with v in {0, 1}
        (address signer, ECDSA.RecoverError err, ) = ECDSA.tryRecover(digest, v, r, s);
        if (err != ECDSA.RecoverError.NoError) revert AuthorityEvidenceBadSignature(blockHash);
        return signer;
    }

    /// @dev Removes equivocator `offender` (in the latest scheduled set, not alone) from the
    /// next block on, or from the last scheduled change if later; that effective block.
    function _removeEquivocator(address offender) private returns (uint64 effectiveBlock) {
        _requireApplicable(offender, false);
        uint64 last = _snapshots[_snapshots.length - 1].effectiveBlock;
        effectiveBlock = uint64(block.number) + 1;
        if (effectiveBlock < last) effectiveBlock = last;
        _appendSnapshot(offender, false, effectiveBlock);
    }

    function _requirePending(uint256 id) private view {
        if (id == 0 || id > proposalCount) revert AuthorityUnknownProposal(id);
        Proposal storage p = _proposals[id];
        if (p.scheduled) revert AuthorityProposalAlreadyScheduled(id, p.effectiveBlock);
        _requireCanTakeEffect(p.effectiveBlock);
    }

    function _requireCanTakeEffect(uint64 effectiveBlock) private view {
        if (effectiveBlock <= block.number) revert AuthorityEffectiveBlockNotFuture(effectiveBlock, block.number);
        uint64 last = _snapshots[_snapshots.length - 1].effectiveBlock;
        if (effectiveBlock < last) revert AuthorityChangeOutOfOrder(effectiveBlock, last);
    }

    /// @dev Checks the change against the latest scheduled set, the one it will be applied to.
    function _requireApplicable(address account, bool add) private view {
        address[] storage latest = _snapshots[_snapshots.length - 1].members;
        bool member = _isMember(latest, account);
        if (add) {
            if (member) revert AuthorityAlreadyMember(account);
            if (latest.length >= MAX_AUTHORITIES) revert AuthoritySetTooLarge(latest.length + 1, MAX_AUTHORITIES);
        } else {
            if (!member) revert AuthorityNotMember(account);
            if (latest.length == 1) revert AuthorityLastMember(account);
        }
    }

    /// @dev Voters of `id` among the authorities in force now, and a majority of them.
    function _tally(uint256 id) private view returns (uint256 votes, uint256 quorum) {
        address[] storage current = _setAt(block.number);
        uint256 n = current.length;
        for (uint256 i = 0; i < n; ++i) {
            if (_voted[id][current[i]]) ++votes;
        }
        quorum = n / 2 + 1;
    }

    function _stateOf(uint256 id) private view returns (AuthorityProposalState) {
        if (id == 0 || id > proposalCount) return AuthorityProposalState.Unknown;
        Proposal storage p = _proposals[id];
        if (p.scheduled) return AuthorityProposalState.Scheduled;
        uint64 last = _snapshots[_snapshots.length - 1].effectiveBlock;
        if (p.effectiveBlock <= block.number || p.effectiveBlock < last) return AuthorityProposalState.Expired;
        return AuthorityProposalState.Pending;
    }

    /// @dev The members of the last snapshot whose effective block is <= `blockNumber`
    /// (binary search; snapshot 0 is effective from block 0, so one always matches).
    function _setAt(uint256 blockNumber) private view returns (address[] storage) {
        uint256 low = 0;
        uint256 high = _snapshots.length;
        // Invariant: _snapshots[low].effectiveBlock <= blockNumber; every index >= high is after it.
        while (high - low > 1) {
            uint256 mid = (low + high) / 2;
            if (_snapshots[mid].effectiveBlock <= blockNumber) {
                low = mid;
            } else {
                high = mid;
            }
        }
        return _snapshots[low].members;
    }

    function _isMember(address[] storage set, address account) private view returns (bool) {
        uint256 n = set.length;
        for (uint256 i = 0; i < n; ++i) {
            if (set[i] == account) return true;
        }
        return false;
    }
}
