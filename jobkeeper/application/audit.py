"""Checking the hash chains of recorded events, and the heads an auditor keeps elsewhere.

Checks read the stored rows themselves, no domain classes: a sealed row is hashed as it is and
its links read off its end; a row hashed in the first form is decoded by the store's
transcoder. So a row that no longer decodes into an event is still named.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.persistence import Mapper, Notification, StoredEvent
from eventsourcing.utils import get_topic

from jobkeeper.application import chain
from jobkeeper.domain.errors import JobNotFoundError
from jobkeeper.domain.job import Job, job_aggregate_id
from jobkeeper.domain.user import User

CHAINED_TOPICS = tuple(get_topic(cls) + "." for cls in (Job, User))
"""Topics of chained events start so: every job event and every user event."""


def is_chained(stored: StoredEvent) -> bool:
    """Whether the stored event belongs to a chained stream (a job's or a user's)."""
    return stored.topic.startswith(CHAINED_TOPICS)


@dataclass(frozen=True)
class RowReader:
    """Reads a stored event's state as the store wrote it (no topic resolved, no upcast)."""

    mapper: Mapper[Any]

    def plain(self, stored: StoredEvent) -> bytes:
        """The state's bytes as the transcoder wrote them (decrypted, decompressed)."""
        state = stored.state
        if self.mapper.cipher:
            state = self.mapper.cipher.decrypt(state)
        if self.mapper.compressor:
            state = self.mapper.compressor.decompress(state)
        return bytes(state)

    def decode(self, stored: StoredEvent, plain: bytes | None = None) -> dict[str, Any]:
        """The state as a JSON object (`plain`: its bytes, when already read)."""
        decoded = self.mapper.transcoder.decode(self.plain(stored) if plain is None else plain)
        if not isinstance(decoded, dict):
            raise ValueError("the state is not a JSON object")
        return decoded


@dataclass(frozen=True)
class Head:
    """The latest hashed event of one chain."""

    stream: str
    version: int
    hash: str


@dataclass(frozen=True)
class Break:
    """The first broken link of a chain: which version, and what differs."""

    stream: str
    version: int
    problem: str
    recorded: str | None = None
    computed: str | None = None


@dataclass(frozen=True)
class ChainReport:
    """What a check found in one stream."""

    stream: str
    events: int
    hashed_from: int | None
    """The version the chain starts at (events before it were recorded without a hash)."""
    head: Head | None
    broken: Break | None
    unhashed: int = 0


@dataclass
class ChainCheck:
    """Follows one stream's stored events in version order, up to its first broken link;
    with `anchor`, also checks that the chain still passes through a head kept earlier."""

    stream: str
    rows: RowReader
    anchor: Head | None = None
    events: int = 0
    unhashed: int = 0
    hashed_from: int | None = None
    head: Head | None = None
    broken: Break | None = None
    _next: int = 1
    _prev: str = field(default=chain.GENESIS)

    def add(self, stored: StoredEvent) -> None:
        """Check the next stored event of the stream."""
        if self.broken is not None:
            return
        self.events += 1
        self.broken = self._check(stored)
        self._next = stored.originator_version + 1

    def _check(self, stored: StoredEvent) -> Break | None:
        version = stored.originator_version
        if version > self._next:
            missing = (
                f"{self._next}" if version == self._next + 1 else f"{self._next}-{version - 1}"
            )
            return self._break(version, f"versions {missing} are missing before it")
        if version < self._next:
            return self._break(version, f"recorded out of order, after version {self._next - 1}")
        try:
            plain = self.rows.plain(stored)
            links = chain.row_links(plain)  # a sealed row's links, read off its end
            if links is None:
                state = self.rows.decode(stored, plain)
                recorded, prev = state.get(chain.HASH), state.get(chain.PREV)
                sealed = state.get(chain.FORM) == chain.ROW
            else:
                (prev, recorded), state, sealed = links, {}, True
        except Exception as error:
            return self._break(version, f"its row cannot be read ({type(error).__name__})")
        if recorded is None:
            if self.hashed_from is None:
                self.unhashed += 1
                return None
            return self._break(
                version, f"it has no hash, but the chain starts at {self.hashed_from}"
            )
        if self.hashed_from is None:
            self.hashed_from = version
        computed = _row_hash(stored, plain) if sealed else _link(stored, state, prev)
        if sealed and not computed:
            problem = "its content differs from its hash: the row no longer ends in it"
            return self._break(version, problem, recorded)
        if computed != recorded:
            return self._break(version, "its content differs from its hash", recorded, computed)
        if prev != self._prev:
            return self._break(
                version, "it links to another event than the one before it", prev, self._prev
            )
        self._prev = recorded
        self.head = Head(self.stream, version, recorded)
        anchor = self.anchor
        if anchor is not None and anchor.version == version and anchor.hash != recorded:
            return self._break(
                version, "the chain differs from the head kept earlier: it was rewritten",
                anchor.hash, recorded,
            )  # fmt: skip
        return None

    def _break(self, version: int, problem: str, recorded: str | None = None,
               computed: str | None = None) -> Break:  # fmt: skip
        return Break(self.stream, version, problem, recorded, computed)

    def report(self) -> ChainReport:
        """What the check found, once every stored event was added."""
        broken = self.broken
        anchor = self.anchor
        if broken is None and anchor is not None:
            reached = self.head.version if self.head else 0
            if reached < anchor.version:
                broken = self._break(
                    anchor.version,
                    f"the head kept earlier is at version {anchor.version}, the chain ends at "
                    f"{reached}: events were removed",
                    anchor.hash,
                )
        return ChainReport(
            self.stream, self.events, self.hashed_from, self.head, broken, self.unhashed
        )


def _row_hash(stored: StoredEvent, plain: bytes) -> str:
    return chain.row_hash(str(stored.originator_id), stored.originator_version, stored.topic,
                          plain) or ""  # fmt: skip


def _link(stored: StoredEvent, state: Mapping[str, Any], prev: Any) -> str:
    """The hash of an event recorded in the first form (its canonical content)."""
    if not isinstance(prev, str):
        return ""
    try:
        return chain.link(
            str(stored.originator_id), stored.originator_version, stored.topic, state, prev
        )
    except (TypeError, ValueError):
        return ""


@dataclass(frozen=True)
class StoreReport:
    """What a check of every chain found."""

    streams: int
    events: int
    unhashed: int
    """Events recorded before the chains started (no hash)."""
    broken: list[Break]

    @property
    def intact(self) -> bool:
        """Whether no chain is broken."""
        return not self.broken


def check_store(
    notifications: Callable[[int, int], Sequence[Notification]],
    rows: RowReader,
    anchors: Mapping[str, Head] | None = None,
    progress: Callable[[int], None] | None = None,
    chunk: int = 1000,
) -> StoreReport:
    """Check every chain, reading the log in order `chunk` events at a time from
    `notifications(start, limit)`; `progress` is told how many events were read."""
    checks: dict[str, ChainCheck] = {}
    anchors = anchors or {}
    start, read = 1, 0
    while True:
        page = notifications(start, chunk)
        for stored in page:
            if is_chained(stored):
                stream = str(stored.originator_id)
                check = checks.get(stream)
                if check is None:
                    check = checks[stream] = ChainCheck(stream, rows, anchors.get(stream))
                check.add(stored)
        read += len(page)
        if progress is not None:
            progress(read)
        if len(page) < chunk:
            break
        start = page[-1].id + 1
    for stream, anchor in anchors.items():
        if stream not in checks:
            checks[stream] = ChainCheck(stream, rows, anchor)
    reports = [check.report() for check in checks.values()]
    return StoreReport(
        streams=len(reports),
        events=sum(r.events for r in reports),
        unhashed=sum(r.unhashed for r in reports),
        broken=[r.broken for r in reports if r.broken is not None],
    )


def check_stream(
    stream: str, events: Iterable[StoredEvent], rows: RowReader, anchor: Head | None = None
) -> ChainReport:
    """Check one stream's chain from its stored events in version order."""
    check = ChainCheck(stream, rows, anchor)
    for stored in events:
        check.add(stored)
    return check.report()


@dataclass(frozen=True)
class Anchors:
    """The head of every chain and a digest over them all (signed when a key is given)."""

    heads: list[Head]
    unhashed: int
    """Streams whose latest event has no hash (recorded before the chains started)."""
    digest: str
    signature: str | None

    def as_json(self) -> dict[str, Any]:
        """The anchors as the API and the CLI give them (what `--against` reads back)."""
        answer: dict[str, Any] = {
            "algorithm": "sha256",
            "digest": self.digest,
            "heads": [
                {"stream": h.stream, "version": h.version, "hash": h.hash} for h in self.heads
            ],
            "unhashed_streams": self.unhashed,
        }
        if self.signature is not None:
            answer["signature"] = self.signature
        return answer


def heads_digest(heads: Iterable[Head]) -> str:
    """SHA-256 over the heads sorted by stream, one `stream version hash` line each."""
    lines = "".join(f"{h.stream} {h.version} {h.hash}\n" for h in sorted(heads, key=_by_stream))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


def sign(digest: str, key: str) -> str:
    """HMAC-SHA256 of the digest's text under `key` (hex)."""
    return hmac.new(key.encode("utf-8"), digest.encode("ascii"), hashlib.sha256).hexdigest()


def anchors_of(latest: Iterable[StoredEvent], rows: RowReader, key: str = "") -> Anchors:
    """The anchors of the latest stored event of each stream."""
    heads: list[Head] = []
    unhashed = 0
    for stored in latest:
        if not is_chained(stored):
            continue
        try:
            plain = rows.plain(stored)
            links = chain.row_links(plain)
            recorded = rows.decode(stored, plain).get(chain.HASH) if links is None else links[1]
        except Exception:
            recorded = None
        if isinstance(recorded, str):
            heads.append(Head(str(stored.originator_id), stored.originator_version, recorded))
        else:
            unhashed += 1
    heads.sort(key=_by_stream)
    digest = heads_digest(heads)
    return Anchors(heads, unhashed, digest, sign(digest, key) if key else None)


class AnchorsFileError(ValueError):
    """Raised when a head file kept earlier cannot be read, or its digest does not match."""


def read_anchors(document: Any, key: str = "") -> dict[str, Head]:
    """The heads of a head file (as `Anchors.as_json` wrote it), checked against its digest
    (and its signature when `key` is given)."""
    try:
        heads = [
            Head(str(h["stream"]), int(h["version"]), str(h["hash"])) for h in document["heads"]
        ]
        digest = str(document["digest"])
    except (KeyError, TypeError, ValueError) as error:
        raise AnchorsFileError(
            f"not a head file (as `jobkeeper audit head` writes): {error}"
        ) from None
    if heads_digest(heads) != digest:
        raise AnchorsFileError("the head file's digest does not match its heads: it was changed")
    if key and not hmac.compare_digest(sign(digest, key), str(document.get("signature", ""))):
        raise AnchorsFileError("the head file's signature does not match JOBKEEPER_AUDIT_KEY")
    return {h.stream: h for h in heads}


def load_anchors(text: str, key: str = "") -> dict[str, Head]:
    """`read_anchors` of a head file's text."""
    try:
        document = json.loads(text)
    except ValueError as error:
        raise AnchorsFileError(f"the head file is not JSON: {error}") from None
    return read_anchors(document, key)


def _by_stream(head: Head) -> str:
    return head.stream


class Auditor:
    """The audit's use cases over the event store: anchors, and checks of one job or all.

    `latest()` answers the latest stored event of every stream (one query the store adapter
    knows how to ask); `key` signs the anchors (empty: unsigned).
    """

    def __init__(
        self, recorder: Any, mapper: Mapper[Any],
        latest: Callable[[], Iterable[StoredEvent]], key: str = "",
    ) -> None:  # fmt: skip
        self.recorder = recorder
        self.rows = RowReader(mapper)
        self.latest = latest
        self.key = key

    def anchors(self) -> Anchors:
        """The head of every chain now, and their digest (signed with the key, if any)."""
        return anchors_of(self.latest(), self.rows, self.key)

    def events_recorded(self) -> int:
        """How many events the log holds at most (the newest notification's id)."""
        return int(self.recorder.max_notification_id() or 0)

    def verify_job(self, job_id: int, anchor: Head | None = None) -> ChainReport:
        """Check job `job_id`'s chain; JobNotFoundError when it has no events."""
        stream = job_aggregate_id(job_id)
        report = check_stream(stream, self._stream_events(stream), self.rows, anchor)
        if report.events == 0 and anchor is None:
            raise JobNotFoundError(job_id)
        return report

    def _stream_events(self, stream: str, chunk: int = 1000) -> Iterable[StoredEvent]:
        after: int | None = None
        while True:
            page = self.recorder.select_events(stream, gt=after, limit=chunk)
            yield from page
            if len(page) < chunk:
                return
            after = page[-1].originator_version

    def verify_store(
        self,
        anchors: Mapping[str, Head] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> StoreReport:
        """Check every chain in the store (against `anchors` kept earlier, if given)."""

        return check_store(self.recorder.select_notifications, self.rows, anchors, progress)
