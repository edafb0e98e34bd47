"""A small load generator for the published database, on loopback only.

`measure` sends a bounded number of requests (or runs for a bounded time) with a fixed number of
concurrent clients, and reports per page: requests, errors, throughput, p50 and p99 latency.
It refuses any address that is not this machine.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote_plus, urlsplit

import httpx

LOOPBACK_NAMES = {"localhost"}


@dataclass
class PageStats:
    latencies: list[float] = field(default_factory=list)
    first: float | None = None  # the page's first request, before anything was warm or kept
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies) if self.latencies else float("nan")

    @property
    def p99(self) -> float:
        return self.percentile(0.99)


def require_loopback(base_url: str) -> None:
    """Load is only ever sent to this machine."""
    host = urlsplit(base_url).hostname or ""
    if host in LOOPBACK_NAMES:
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise ValueError(f"{host!r} is not a loopback address: load is only sent to this machine")


Page = str | list[str]  # a path, or paths asked for in turn (a new search each time)


async def measure(
    base_url: str,
    pages: dict[str, Page],
    clients: int = 4,
    requests_per_page: int | None = 50,
    duration: float | None = None,
) -> tuple[dict[str, PageStats], float]:
    """Hit every page: a fixed count each, or round-robin for `duration` seconds. A page given
    as a list of paths asks for the first one first, apart, then the others in turn."""
    require_loopback(base_url)
    stats = {name: PageStats() for name in pages}
    paths = {name: [page] if isinstance(page, str) else page for name, page in pages.items()}
    sent = dict.fromkeys(pages, 0)

    def next_path(name: str) -> str:
        sent[name] += 1
        return paths[name][sent[name] % len(paths[name])]

    queue: asyncio.Queue = asyncio.Queue()
    if duration is None:
        for _ in range(requests_per_page or 1):
            for name in pages:
                queue.put_nowait(name)
    deadline: float | None = None  # set once every page's first request is answered
    names = list(pages)

    async def client(number: int, http: httpx.AsyncClient) -> None:
        turn = number
        while True:
            if deadline is not None:
                if time.monotonic() >= deadline:
                    return
                name = names[turn % len(names)]
                turn += 1
            else:
                try:
                    name = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
            await _timed_get(http, next_path(name), stats[name])

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as http:
        for name in pages:  # the first request of each, timed apart
            started = time.perf_counter()
            await http.get(paths[name][0])
            stats[name].first = time.perf_counter() - started
        started = time.perf_counter()
        if duration:
            deadline = time.monotonic() + duration
        await asyncio.gather(*(client(n, http) for n in range(clients)))
        elapsed = time.perf_counter() - started
    return stats, elapsed


async def _timed_get(http: httpx.AsyncClient, path: str, stats: PageStats) -> None:
    """Ask for a page; count its status (an error from 400 on) and time it."""
    started = time.perf_counter()
    try:
        response = await http.get(path)
        stats.statuses[response.status_code] = stats.statuses.get(response.status_code, 0) + 1
        if response.status_code >= 400:
            stats.errors += 1
    except httpx.HTTPError:
        stats.errors += 1
    stats.latencies.append(time.perf_counter() - started)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_answering(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    """Return once the Datasette at `url` answers; RuntimeError if `process` ends first (with the
    end of what it printed to a pipe) or after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(url + "/-/versions.json", timeout=5)
            return
        except httpx.TransportError:
            if process.poll() is not None:
                stream = process.stderr or process.stdout
                printed = stream.read().decode()[-2000:] if stream is not None else ""
                raise RuntimeError(f"the server ended before answering: {printed}") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not answer within {timeout:g} s") from None
            time.sleep(0.2)


class Server:
    """The real `datasette` server, as `facts serve` starts it, on a free loopback port."""

    def __init__(self, database: Path, root: Path | None, inspect: bool = True) -> None:
        """root: where metadata.yml is (None: the copy the package ships)."""
        from factdb.publishing import serve_arguments, write_inspect_file

        if inspect:  # as `facts serve` does
            write_inspect_file(database)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.arguments = serve_arguments(database, root, port=self.port)
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        self.process = subprocess.Popen(
            self.arguments, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        wait_until_answering(self.url, self.process)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=10)


BASELINE = "plain claims table"
NARROWEST = "narrowest table"
REFERENCES = (BASELINE, NARROWEST)  # Datasette's plain pages; every other page is ours
ASKED = "search, facets asked"  # a search whose reader asked for its facets however many rows
OUTSIDE_GOAL = (*REFERENCES, ASKED)  # measured and shown; the goal is for the others


def default_pages(claim_id: str, topic: str, entity: str, terms: list[str]) -> dict[str, Page]:
    """The pages people use most, and the baseline: Datasette's plain table page for the same
    table, claims, without what we add to it (its facets); and for scale, the plain page of the
    narrowest table. Searches are new each time, one per term: nothing kept helps them; the
    same searches with their facets asked for (`ASKED`, counted however many rows they match)
    are shown apart from the goal."""
    return {
        BASELINE: "/facts/claims?_nofacet=1",
        NARROWEST: "/facts/claim_entities",
        "claims table": "/facts/claims",
        "facet": "/facts/claims?_facet=topic",
        "search": [f"/facts/claims?_search={quote_plus(term)}" for term in terms],
        ASKED: [f"/facts/claims?_search={quote_plus(term)}&_facet_count=1" for term in terms],
        "search all": [f"/-/search?q={quote_plus(term)}" for term in terms],
        "claim page": f"/facts/claims/{claim_id}",
        "topic page": f"/facts/topics/{topic}",
        "timeline": "/facts/timeline",
        "conflicts": "/facts/conflicts_side_by_side",
        "corroborated": "/facts/corroborated",
        "who said what": f"/facts/who_said_what?topic={topic}",
        "claims about": f"/facts/claims_about_entity?entity={entity}",
        "curator checks": "/facts/curator_checks",
    }


def search_terms(statements: list[str], count: int) -> list[str]:
    """`count` different searches: the words of the statements (four letters or more), the
    commonest first, then pairs of them (both words must occur)."""
    import itertools
    import re
    from collections import Counter

    words = Counter(w.lower() for text in statements for w in re.findall(r"[^\W\d_]{4,}", text))
    single = [word for word, _ in words.most_common()]
    pairs = (f"{a} {b}" for a, b in itertools.combinations(single, 2))
    return list(itertools.islice(itertools.chain(single, pairs), count))


def pages_for(database: Path, searches: int = 201) -> dict[str, Page]:
    """default_pages, with a claim, its topic and an entity of this database, and searches
    made of the words of its claims (the first one is asked for apart, as every page's first)."""
    import sqlite3

    db = sqlite3.connect(database)
    try:
        claim, topic = db.execute("select id, topic from claims where topic is not null").fetchone()
        entity = db.execute("select entity_id from claim_entities").fetchone()[0]
        sample = [s for (s,) in db.execute("select statement from claims where rowid % 50 = 0")]
    finally:
        db.close()
    return default_pages(claim, topic, entity, search_terms(sample, searches))


def slowest(stats: dict[str, PageStats], baseline: str = BASELINE) -> tuple[str, float]:
    """Our page whose p99 is the highest against the baseline's, and that ratio."""
    base = stats[baseline].p99
    ours = {name: s.p99 / base for name, s in stats.items() if name not in OUTSIDE_GOAL}
    name = max(ours, key=ours.__getitem__)
    return name, ours[name]


def report(stats: dict[str, PageStats], elapsed: float, baseline: str | None = None) -> str:
    """A line per page: its first request, p50 and p99, and its p99 against the baseline's and
    (for scale) the narrowest table's."""
    total = sum(len(s.latencies) for s in stats.values())
    ratios = baseline is not None and NARROWEST in stats
    lines = [
        f"{'page':<24} {'requests':>8} {'errors':>6} {'first ms':>8} {'p50 ms':>8} "
        f"{'p99 ms':>8}" + ("  p99/baseline  p99/narrowest" if ratios else "")
    ]
    for name, s in stats.items():
        first = f"{s.first * 1000:>8.1f}" if s.first is not None else f"{'':>8}"
        line = (
            f"{name:<24} {len(s.latencies):>8} {s.errors:>6} {first} {s.p50 * 1000:>8.1f} "
            f"{s.p99 * 1000:>8.1f}"
        )
        if ratios and baseline is not None:
            line += f"  {s.p99 / stats[baseline].p99:>12.2f}  {s.p99 / stats[NARROWEST].p99:>13.2f}"
        lines.append(line)
    lines.append(f"{total} requests in {elapsed:.1f}s: {total / elapsed:.0f} requests/s")
    return "\n".join(lines)


if __name__ == "__main__":  # python -m factdb.loadtest facts.db [clients] [seconds]
    database = Path(sys.argv[1])
    clients = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 30
    with Server(database, None) as server:
        pages = pages_for(database)
        stats, elapsed = asyncio.run(measure(server.url, pages, clients, None, seconds))
        print(report(stats, elapsed, BASELINE))
        sys.exit(1 if any(s.errors for s in stats.values()) else 0)
