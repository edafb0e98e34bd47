"""`facts bench`: a synthetic corpus at scale, and whole-process timings against a floor.

The corpus is in the project's own format: sources whose text reads like news copy, claims whose
quotes really occur in them (numbers and all), entities, topics and EDTF dates. The floor is the
least a pipeline must do with the same files (yaml-rs parse, pydantic per file, substring
checks, executemany into SQLite, one FTS5 build), measured in the same run as our commands so
that the ratio between them means the same on any machine.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Literal, TypedDict, get_args

import factdb.profiling as profiling

CLAIMS_PER_FILE = 50
EVENT_GROUPS = 10  # events a day: the claims on one day about one tenth of the questions
SENTENCES_PER_SOURCE = 60
_FIRST = "Anna Boris Chen Dara Elif Farid Greta Hiro Ines Jonas Kira Luis Mira Nadia Omar".split()
_LAST = "Petrov Kim Novak Haddad Silva Tanaka Weber Costa Ivanova Park Okafor Lindqvist".split()
_PLACES = "Varna Orsk Tamsk Lyden Koral Mirny Sotka Uzen Belgor Dalmar Pesk Rovno".split()
_ORGS = [
    "Ministry of Defence",
    "Foreign Ministry",
    "State Council",
    "Port Authority",
    "Statistics Office",
    "Border Service",
    "Central Bank",
    "Health Agency",
]
_UNITS = ["soldiers", "ships", "tonnes", "deputies", "kilometres", "vehicles"]
_VERBS = ["said", "told reporters", "confirmed", "estimated", "announced", "reported"]
_PHRASES = {
    "soldiers": "{n} soldiers had arrived in {place}",
    "ships": "{n} ships were seen near {place}",
    "tonnes": "{n} tonnes of grain were delivered to {place}",
    "deputies": "{n} deputies voted for the plan in {place}",
    "kilometres": "{n} kilometres of road were closed near {place}",
    "vehicles": "{n} vehicles were counted in {place}",
}
_WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_FILLER = [
    "The talks continued late into the evening.",
    "Officials declined to give further details.",
    "Observers expect the debate to continue next week.",
    "The statement was published on the agency's website.",
    "Neither side commented on the reports.",
]


def _yaml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML 1.2 scalar


@dataclass
class Corpus:
    root: Path
    claims: int
    files: int
    sources: int
    events: int = 0


# sources to a registry file: 500 records are ~0.5 MB, under the 2 MiB a fact file may have
# (one sources.yaml at 1M claims was 4.8 MB)
SOURCES_PER_FILE = 500


def generate_corpus(root: Path, claims: int, seed: int = 20241024, dated: bool = True) -> Corpus:
    """Write a corpus of `claims` claims, 50 to a file, one source (and seed text) per file.

    Without `dated`, the same corpus without its events and relative dates (no `when`, no
    `event`, no events.yaml): what the date reasoning costs is the difference."""
    rng = random.Random(seed)
    files = max(1, claims // CLAIMS_PER_FILE)
    if root.exists():
        shutil.rmtree(root)
    (root / "facts" / "claims").mkdir(parents=True)
    (root / "seeds").mkdir()
    people = [f"{f} {last}" for f in _FIRST for last in _LAST]
    entities = (
        [(f"p-{i}", name, "person") for i, name in enumerate(people)]
        + [(f"o-{i}", name, "organisation") for i, name in enumerate(_ORGS)]
        + [(f"pl-{i}", name, "place") for i, name in enumerate(_PLACES)]
    )
    topics = [(f"t-{unit}-{place.lower()}", unit, place) for unit in _UNITS for place in _PLACES]
    _write_registries(root, entities, topics)
    pools = {
        ident: [rng.randrange(2, 400) * 25 for _ in range(rng.randrange(2, 6))]
        for ident, _, _ in topics
    }
    events: set[str] = set()
    (root / "facts" / "sources").mkdir()
    for first in range(0, files, SOURCES_PER_FILE):  # as a large tree splits its registry
        source_lines = ["sources:"]
        for number in range(first, min(first + SOURCES_PER_FILE, files)):
            people_only = entities[: len(people)]
            source_lines += _write_source(root, number, rng, people_only, topics, pools, events)
        path = root / "facts" / "sources" / f"{first // SOURCES_PER_FILE:04d}.yaml"
        path.write_text("\n".join(source_lines), encoding="utf-8")
    if dated:
        _write_events(root, events)
    else:
        _strip_dating(root)
    count = sum(1 for _ in (root / "facts" / "claims").glob("*.yaml")) * CLAIMS_PER_FILE
    return Corpus(root, min(count, claims), files, files, len(events) if dated else 0)


def _strip_dating(root: Path) -> None:
    """Drop every claim's `when` and `event` line."""
    for path in (root / "facts" / "claims").glob("*.yaml"):
        lines = path.read_text(encoding="utf-8").split("\n")
        kept = [line for line in lines if not line.startswith(("    when: ", "    event: "))]
        path.write_text("\n".join(kept), encoding="utf-8")


def _write_events(root: Path, events: set[str]) -> None:
    """facts/events.yaml: every event the claims report, none dated (the claims date them)."""
    lines = ["events:"]
    for event in sorted(events):
        lines += [
            f"  - id: {event}",
            f"    name: Statements of {event[2:12]}",
            "    kind: statement",
            "",
        ]
    (root / "facts" / "events.yaml").write_text("\n".join(lines), encoding="utf-8")


def _write_registries(
    root: Path, entities: list[tuple[str, str, str]], topics: list[tuple[str, str, str]]
) -> None:
    """facts/entities.yaml and facts/topics.yaml of a generated corpus."""
    lines = ["entities:"]
    for ident, name, kind in entities:
        description = _yaml_string(f"A {kind} named in the benchmark corpus.")
        lines += [
            f"  - id: {ident}",
            f"    name: {_yaml_string(name)}",
            f"    kind: {kind}",
            f"    description: {description}",
            "",
        ]
    (root / "facts" / "entities.yaml").write_text("\n".join(lines), encoding="utf-8")
    lines = ["topics:"]
    for ident, unit, place in topics:
        lines += [
            f"  - id: {ident}",
            f"    question: How many {unit} are in {place}?",
            "    kind: quantity",
            f"    unit: {unit}",
            "",
        ]
    (root / "facts" / "topics.yaml").write_text("\n".join(lines), encoding="utf-8")


def _write_source(
    root: Path,
    number: int,
    rng: random.Random,
    people: list[tuple[str, str, str]],
    topics: list[tuple[str, str, str]],
    pools: dict[str, list[int]],
    events: set[str],
) -> list[str]:
    """One source's seed text and claim file; returns its record's lines for sources.yaml.

    Every claim dates itself "on <weekday>" from its article's printed publication day, and
    reports an event: the statements made on one day about one of ten groups of questions, so
    that claims of many articles date each event together (10,000 events at 100,000 claims)."""
    published = date(2022, 1, 1) + timedelta(days=rng.randrange(1000))
    sentences, claim_lines = [], ["claims:"]
    for index in range(SENTENCES_PER_SOURCE):
        if index % 6 == 5:
            sentences.append(rng.choice(_FILLER))
            continue
        person_id, person, _ = rng.choice(people)
        topic_id, unit, place = rng.choice(topics)
        value = rng.choice(pools[topic_id])  # reports repeat a few figures per question
        back = rng.randrange(0, 7)
        day = published - timedelta(days=back)
        weekday = _WEEKDAYS[day.weekday()]
        fragment = "about " + _PHRASES[unit].format(n=f"{value:,}", place=place)
        sentences.append(f"{person} {rng.choice(_VERBS)} on {weekday} that {fragment}.")
        event = f"e-{day.isoformat()}-{topics.index((topic_id, unit, place)) % EVENT_GROUPS}"
        events.add(event)
        claim_lines += _claim_lines(
            f"c{number:05d}-{index:03d}",
            f"s{number:05d}",
            fragment,
            (day, back, weekday, event),
            (person, person_id, topic_id, value, unit, _PLACES.index(place)),
        )
    text = "\n\n".join(" ".join(sentences[i : i + 3]) for i in range(0, len(sentences), 3))
    seed_path = root / "seeds" / f"s{number:05d}.txt"
    seed_path.write_text(text + "\n", encoding="utf-8")
    digest = hashlib.sha256(seed_path.read_bytes()).hexdigest()
    claims_file = root / "facts" / "claims" / f"{number:05d}.yaml"
    claims_file.write_text("\n".join(claim_lines), encoding="utf-8")
    return [
        f"  - id: s{number:05d}",
        f"    seed: seeds/s{number:05d}.txt",
        f"    sha256: {digest}",
        f"    title: Report {number}",
        "    publisher: null",
        f"    published: '{published.isoformat()}'",
        "    published_basis: Generated.",
        "    published_stated: true",
        "    language: en",
        "",
    ]


def _claim_lines(
    claim_id: str,
    source_id: str,
    fragment: str,
    when: tuple[date, int, str, str],
    what: tuple[str, str, str, int, str, int],
) -> list[str]:
    """One generated claim's lines: dated "on <weekday>", `back` days before publication."""
    day, back, weekday, event = when
    person, person_id, topic_id, value, unit, place = what
    return [
        f"  - id: {claim_id}",
        f"    source: {source_id}",
        f"    statement: {_yaml_string(f'{person} said {fragment}.')}",
        f"    quote: {_yaml_string(fragment)}",
        f"    date: '{day.isoformat()}'",
        f"    date_basis: {_yaml_string(f'on {weekday}, {back} days before publication')}",
        f"    when: [{weekday.lower()}]",
        f"    event: {event}",
        f"    claimant: {person_id}",
        f"    about: [pl-{place}]",
        f"    topic: {topic_id}",
        f"    value: {value}",
        "    approximate: true",
        f"    unit: {unit}",
        "    assertion: stated",
        "",
    ]


def floor_pipeline(root: Path, database: Path) -> int:
    """The least work on the same files: parse, validate, check quotes, insert, index."""
    import yaml_rs
    from pydantic import TypeAdapter

    from factdb.schema.models import RECORD_MODELS, Record, list_of
    from factdb.text import normalise_quote

    adapters: dict[str, TypeAdapter[list[Record]]] = {
        kind: TypeAdapter(list_of(model)) for kind, model in RECORD_MODELS.items()
    }
    records: dict[str, list] = {kind: [] for kind in RECORD_MODELS}
    for path in sorted((root / "facts").rglob("*.yaml")):
        data = yaml_rs.loads(path.read_text(encoding="utf-8"), parse_datetime=False)
        assert isinstance(data, dict)  # a fact file is a mapping of sections
        for kind, items in data.items():
            records[kind] += adapters[kind].validate_python(items)
    texts = {
        s.id: normalise_quote((root / s.seed).read_text(encoding="utf-8"))
        for s in records["sources"]
    }
    missing = sum(normalise_quote(c.quote) not in texts[c.source] for c in records["claims"])
    if database.exists():
        database.unlink()
    db = sqlite3.connect(database)
    db.execute(
        "create table claims (id text primary key, source text, statement text, quote text, "
        "date text, claimant text, topic text, value real, unit text)"
    )
    with db:
        db.executemany(
            "insert into claims values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (c.id, c.source, c.statement, c.quote, c.date, c.claimant, c.topic, c.value, c.unit)
                for c in records["claims"]
            ),
        )
        db.execute(
            "create virtual table claims_fts using fts5(statement, quote, "
            "content=claims, content_rowid=rowid)"
        )
        db.execute("insert into claims_fts(claims_fts) values ('rebuild')")
    db.close()
    return missing


@dataclass
class Timing:
    seconds: float
    peak_mib: float
    returncode: int
    steps: dict[str, float] = field(default_factory=dict)  # of a run with --profile


def _tree_memory(pid: int, proportional: bool = False) -> int:
    """Bytes held by a process and all its descendants, from /proc (0 where unreadable):
    resident (pages shared between them counted in each), or proportional (each shared page
    divided among the processes sharing it: what they hold together; slower to read)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            total += _proportional(current) if proportional else _resident(current)
            with open(f"/proc/{current}/task/{current}/children") as children:
                pending += [int(child) for child in children.read().split()]
        except (OSError, ValueError):
            continue
    return total


def _resident(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _proportional(pid: int) -> int:
    """The proportional set size (Pss) of a process, in bytes."""
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        for line in rollup:
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    raise ValueError(f"no Pss line for process {pid}")


def process_environment(**extra: str) -> dict[str, str]:
    """The timed processes' environment: Python's bytecode cached, as on a usual install (where
    PYTHONDONTWRITEBYTECODE is set, as on this project's machines, every process would compile
    the project's modules from source: 10-20 ms a run, all of it in no pipeline's code)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return env | extra


def compile_project() -> None:
    """Write the project's bytecode before anything is timed (pip does it for installed
    packages; an editable install leaves it to the first run)."""
    import factdb.schema

    packages = [str(Path(__file__).resolve().parent), str(Path(factdb.schema.__file__).parent)]
    command = [sys.executable, "-m", "compileall", "-q", *packages]
    subprocess.run(command, env=process_environment(), check=True, stdout=subprocess.DEVNULL)


def run_process(
    arguments: list[str],
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    proportional: bool = False,
) -> Timing:
    """Run a whole process; its wall time, and the peak of the memory it and its workers hold
    together: resident, sampled every 10 ms from /proc, beside the process's own peak from
    wait4; or `proportional`, sampled every 0.2 s (reading it takes 25 ms per GiB a process
    holds: such a run is for its memory, not its time)."""
    import threading

    interval = 0.2 if proportional else 0.01

    started = time.perf_counter()
    env = process_environment() if env is None else env
    process = subprocess.Popen(
        arguments, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    peak, done, errors = [0], threading.Event(), bytearray()

    def sample() -> None:
        while not done.wait(interval):
            peak[0] = max(peak[0], _tree_memory(process.pid, proportional))

    def read() -> None:  # all of stderr as it comes: a full pipe would stall the process
        assert process.stderr is not None  # stderr=PIPE above
        errors.extend(process.stderr.read())

    threads = [threading.Thread(target=work, daemon=True) for work in (sample, read)]
    for thread in threads:
        thread.start()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    done.set()
    for thread in threads:
        thread.join()
    code = os.waitstatus_to_exitcode(status)
    text = errors.decode(errors="replace")
    if code != 0:
        raise RuntimeError(f"{' '.join(arguments)} failed: {text[-800:]}")
    own_peak = usage.ru_maxrss * 1024 if not proportional or not peak[0] else 0  # resident
    peak_mib = max(peak[0], own_peak) / 2**20
    return Timing(seconds, peak_mib, code, profiling.parse(text))


def median_of(
    runs: int,
    arguments: list[str],
    prepare: Callable[[], object] | None = None,
    env: dict[str, str] | None = None,
) -> Timing:
    timings = []
    for _ in range(runs):
        if prepare:
            prepare()
        timings.append(run_process(arguments, env=env))
    return _median(timings)


def _median(timings: list[Timing]) -> Timing:
    """The median run's seconds, and of each profiled step; the highest peak."""
    named = dict.fromkeys(name for t in timings for name in t.steps)
    return Timing(
        statistics.median(t.seconds for t in timings),
        max(t.peak_mib for t in timings),
        0,
        {name: statistics.median(t.steps.get(name, 0.0) for t in timings) for name in named},
    )


@dataclass
class Pair:
    """Two commands timed in alternation: their medians, and the ratio of each round."""

    first: Timing
    second: Timing
    ratios: list[float]  # second / first, one per round
    runs: tuple[list[Timing], list[Timing]] = field(default_factory=lambda: ([], []))

    def describe(self) -> str:
        """The median ratio as a change, with the range of the rounds."""
        return rounds(self.ratios, lambda ratio: f"{ratio - 1:+.1%}")


def rounds(ratios: list[float], show: Callable[[float], str]) -> str:
    """The median of the rounds' ratios, with their range; a single round says it has none (on a
    shared machine one slow round of either command moves it by a tenth or more)."""
    middle = show(statistics.median(ratios))
    if len(ratios) == 1:
        return f"{middle} (one round: no spread to judge it by)"
    return f"{middle} (rounds {show(min(ratios))} to {show(max(ratios))})"


def interleaved(runs: int, first: list[str], second: list[str]) -> Pair:
    """Time two commands in alternation, the order flipped each round (A B, B A, ...), so that
    a slow spell of a shared machine weighs on both alike."""
    times: dict[int, list[Timing]] = {0: [], 1: []}
    for round_ in range(runs):
        for which in (0, 1) if round_ % 2 == 0 else (1, 0):
            times[which].append(run_process(first if which == 0 else second))

    ratios = [b.seconds / a.seconds for a, b in zip(times[0], times[1], strict=True)]
    return Pair(_median(times[0]), _median(times[1]), ratios, (times[0], times[1]))


def facts_command(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "factdb.cli", *arguments]


def floor_command(root: Path, database: Path) -> list[str]:
    return [sys.executable, "-m", "factdb.benchmark", "floor", str(root), str(database)]


if __name__ == "__main__":  # the floor pipeline as a whole process: python -m factdb.benchmark
    if sys.argv[1:2] == ["floor"]:
        sys.exit(1 if floor_pipeline(Path(sys.argv[2]), Path(sys.argv[3])) else 0)


def _touch(path: Path, number: int) -> None:
    path.write_text(path.read_text(encoding="utf-8") + f"\n# touched {number}\n", encoding="utf-8")


TOUCHED_RUNS = 9


def _touched(root: Path, runs: int, first: int = 0) -> Timing:
    """`facts validate` from the cache after appending a line to one claims file, a different
    file each run: the median of the runs, the highest peak."""
    claim_files = sorted((root / "facts" / "claims").glob("*.yaml"))
    touched = []
    for number in range(first, first + max(runs, TOUCHED_RUNS)):  # a small figure is noisy
        _touch(claim_files[(number * 7919) % len(claim_files)], number)
        touched.append(run_process(facts_command("validate", "--root", str(root))))
    return Timing(
        statistics.median(t.seconds for t in touched), max(t.peak_mib for t in touched), 0
    )


BUSY_CODE = "while True: pass"


@contextlib.contextmanager
def busy_core() -> Iterator[subprocess.Popen[bytes]]:
    """Another process keeping one core busy (a Python loop) while the block runs, as on a
    machine where something else is working: issue #18's 'busy' goals."""
    spinner = subprocess.Popen([sys.executable, "-c", BUSY_CODE])
    try:
        yield spinner
    finally:
        spinner.kill()
        spinner.wait()


class Busy(TypedDict):
    """The measurements repeated with another process busy on one core (largest corpus only)."""

    floored: Pair  # the floor and validate+build, interleaved
    validate: Timing  # a cold validate
    touched: Timing  # validate after touching one file


def bench_busy(root: Path, database: Path, floor_db: Path, runs: int) -> Busy:
    """Validate+build against the floor, and a touched file against a cold validate, while
    another process keeps one core busy; the cache is warm (bench_size filled it)."""
    build = facts_command("build", "--root", str(root), "-o", str(database), "--no-cache")
    with busy_core():
        floored = interleaved(runs, floor_command(root, floor_db), build)
        validate = median_of(runs, facts_command("validate", "--root", str(root), "--no-cache"))
        touched = _touched(root, runs, first=TOUCHED_RUNS)
    return {"floored": floored, "validate": validate, "touched": touched}


class SizeResults(TypedDict):
    """Every measurement for one corpus size: its timings, and the database it built."""

    size: int  # claims
    files: int
    floor: Timing
    validate: Timing
    build: Timing
    build_one_core: Timing
    validate_first_cached: Timing
    validate_touched: Timing
    build_cached: Timing
    dating: Pair  # cold validate without the corpus's events and relative dates, and with
    floored: Pair  # the floor and validate+build, interleaved
    busy: Busy | None  # the same with one core busy (the largest corpus of a run)
    memory: Timing  # validate+build run for its proportional peak memory
    events: int
    database: Path


def bench_size(size: int, runs: int, workdir: Path, busy: bool = False) -> SizeResults:
    """Every measurement for one corpus size, as whole processes."""
    corpus = generate_corpus(workdir / f"corpus-{size}", size)
    root, database = corpus.root, workdir / f"db-{size}" / "facts.db"
    database.parent.mkdir(parents=True, exist_ok=True)
    undated = generate_corpus(workdir / f"undated-{size}", size, dated=False).root
    dating = interleaved(
        runs,
        facts_command("validate", "--root", str(undated), "--no-cache"),
        facts_command("validate", "--root", str(root), "--no-cache", "--profile"),
    )
    validate = dating.second
    build = facts_command(
        "build", "--root", str(root), "-o", str(database), "--no-cache", "--profile"
    )
    # the floor and validate+build in alternation, so that a busy spell weighs on both alike
    floor_db = workdir / f"floor-{size}.db"
    floored = interleaved(runs, floor_command(root, floor_db), build)
    floor, built = floored.first, floored.second
    one_core = process_environment(FACTS_WORKERS="1")  # does using both cores pay?
    built_one_core = median_of(runs, build, env=one_core)
    shutil.rmtree(root / ".cache", ignore_errors=True)
    first_cached = run_process(facts_command("validate", "--root", str(root)))
    validate_touched = _touched(root, runs)
    built_cached = median_of(runs, facts_command("build", "--root", str(root), "-o", str(database)))
    busy_results = bench_busy(root, database, floor_db, runs) if busy else None
    memory = run_process(build, proportional=True)  # untimed: reading Pss slows it
    return {
        "size": corpus.claims,
        "files": corpus.files,
        "floor": floor,
        "validate": validate,
        "build": built,
        "build_one_core": built_one_core,
        "validate_first_cached": first_cached,
        "validate_touched": validate_touched,
        "build_cached": built_cached,
        "dating": dating,
        "floored": floored,
        "busy": busy_results,
        "memory": memory,
        "events": corpus.events,
        "database": database,
    }


PeakKey = Literal[
    "validate",
    "build",
    "build_one_core",
    "build_cached",
    "validate_first_cached",
    "validate_touched",
]
PEAK_KEYS: tuple[PeakKey, ...] = get_args(PeakKey)


def format_results(rows: list[SizeResults]) -> str:
    header = (
        f"{'claims':>8} {'floor':>7} {'validate':>15} {'validate+build':>15} "
        f"{'... on 1 core':>15} {'build, cached':>15} {'cold cache':>15} "
        f"{'one file touched':>18} {'peak MiB':>9} {'Pss MiB':>8}"
    )
    lines = [header]
    for r in rows:
        floor = r["floor"].seconds

        def ratio(t: Timing, floor: float = floor) -> str:
            return f"{t.seconds:6.2f}s {t.seconds / floor:5.2f}x"

        peak = max(r[k].peak_mib for k in PEAK_KEYS)
        touched = r["validate_touched"].seconds
        lines.append(
            f"{r['size']:>8} {floor:6.2f}s {ratio(r['validate']):>15} {ratio(r['build']):>15} "
            f"{ratio(r['build_one_core']):>15} {ratio(r['build_cached']):>15} "
            f"{ratio(r['validate_first_cached']):>15} "
            f"{touched:6.2f}s {touched / r['validate'].seconds:6.1%}    {peak:>7.0f} "
            f"{r['memory'].peak_mib:>8.0f}"
        )
    return "\n".join(lines)


MILLION = 1_000_000
BUILD_SECONDS_AT_A_MILLION = 60


def goals(r: SizeResults) -> list[tuple[str, bool, str]]:
    """The issues' goals, for the largest corpus, as measured in this run: validate+build
    against the floor by the median of their interleaved rounds, with the rounds' spread."""
    ratios = r["floored"].ratios
    build = statistics.median(ratios)
    spread = rounds(ratios, "{:.2f}x".format)
    touched = r["validate_touched"].seconds / r["validate"].seconds
    peak = r["memory"].peak_mib  # proportional: pages the workers share counted once
    resident = max(r[k].peak_mib for k in PEAK_KEYS)  # every timed run, the table's figure
    limit_gib = 4 if r["size"] >= MILLION else 1
    found = [
        ("validate + build at most 1.3x the floor", build <= 1.3, spread),
        (
            "validate after touching one file at most 10% of a cold validate",
            touched <= 0.10,
            f"{touched:.1%}",
        ),
        (
            f"peak memory under {limit_gib} GiB",
            peak < limit_gib * 1024,
            f"{peak:.0f} MiB, validate+build's proportional set size (resident, shared pages "
            f"counted in each process: {resident:.0f} MiB)",
        ),
        solving_goal(r),
    ]
    if r["busy"] is not None:
        found += busy_goals(r["busy"])
    if r["size"] >= MILLION:
        seconds = r["build"].seconds
        limit = BUILD_SECONDS_AT_A_MILLION
        found.append(
            (f"validate + build at 1M under {limit} s", seconds < limit, f"{seconds:.1f} s")
        )
    return found


def busy_goals(busy: Busy) -> list[tuple[str, bool, str]]:
    """Issue #18's goals with another process busy on one core: validate+build at most 1.5x the
    floor (interleaved, as idle), a touched file at most 10% of a cold validate."""
    ratios = busy["floored"].ratios
    build = statistics.median(ratios)
    touched = busy["touched"].seconds / busy["validate"].seconds
    return [
        (
            "with one core busy: validate + build at most 1.5x the floor",
            build <= 1.5,
            rounds(ratios, "{:.2f}x".format),
        ),
        (
            "with one core busy: validate after touching one file at most 10% of a cold validate",
            touched <= 0.10,
            f"{touched:.1%}",
        ),
    ]


def format_busy(r: SizeResults) -> str:
    """The line of the measurements made with one core busy, where this size has them."""
    busy = r["busy"]
    if busy is None:
        return ""
    floor, built = busy["floored"].first.seconds, busy["floored"].second.seconds
    validate, touched = busy["validate"].seconds, busy["touched"].seconds
    return (
        f"With another process busy on one core, {r['size']:,} claims: floor {floor:.2f}s, "
        f"validate+build {built:.2f}s ({built / floor:.2f}x), cold validate {validate:.2f}s, "
        f"one file touched {touched:.2f}s ({touched / validate:.1%})"
    )


DATES_STEP = "dates across articles"


def solving_goal(r: SizeResults) -> tuple[str, bool, str]:
    """Issue #14's goal: what solving the dates (the step `--profile` times) adds to each cold
    validate of the dated corpus, by the median of the runs; beside it, for what the dates cost
    as a whole (more lines to read, the events registry), the dated corpus against its twin
    without them."""
    added = [t.steps[DATES_STEP] / (t.seconds - t.steps[DATES_STEP]) for t in r["dating"].runs[1]]
    share = statistics.median(added)
    figure = (
        f"{share:+.1%} (runs {min(added):+.1%} to {max(added):+.1%}); the dated corpus against "
        f"its undated twin: {r['dating'].describe()}"
    )
    goal = f"solving the dates ({r['events']:,} events) adds at most 10% to a cold validate"
    return goal, share <= 0.10, figure


def format_steps(rows: list[SizeResults]) -> str:
    """`facts bench --profile`: each step of validate+build (medians), in seconds and in
    microseconds per claim for every size: a step that costs more per claim as the corpus grows
    is worse than linear."""
    names = dict.fromkeys(name for r in rows for name in r["build"].steps)
    header = f"{'step':<58}" + "".join(f"{r['size']:>12,} claims" for r in rows)
    lines = [header]
    for name in names:
        cells = []
        for r in rows:
            seconds = r["build"].steps.get(name, 0.0)
            cells.append(f"{seconds:7.2f}s {seconds / r['size'] * 1e6:6.1f}us")
        lines.append(f"{name:<58}" + "".join(f"{cell:>19}" for cell in cells))
    return "\n".join(lines)


LATENCY_REQUESTS = 400  # p99 is then the 5th slowest request (of 200, the 3rd: one stall moves it)


def serve_latency(
    database: Path, requests: int = LATENCY_REQUESTS, clients: int = 2
) -> tuple[str, dict]:
    """p50/p99 of each of our pages against Datasette's plain claims table page, on the same
    database: the report, and each page's figures.

    Each page is measured on its own (`clients` at a time, `requests` in all), so that its
    figures are its own, not those of whatever page was being served beside it.
    """
    import asyncio

    from factdb.loadtest import BASELINE, Server, measure, pages_for, report

    stats, elapsed = {}, 0.0
    with Server(database, None) as server:
        for name, path in pages_for(database).items():
            page, seconds = asyncio.run(measure(server.url, {name: path}, clients, requests))
            stats.update(page)
            elapsed += seconds
    return report(stats, elapsed, BASELINE), stats


def latency_goals(stats: dict) -> list[tuple[str, bool, str]]:
    """Issue #18's page goals: every page of ours at most 1.5x the p99 of Datasette's plain
    claims table page, and a search whose reader asked for its facets at most 2x."""
    from factdb.loadtest import ASKED, BASELINE, slowest

    name, ratio = slowest(stats)
    asked = stats[ASKED].p99 / stats[BASELINE].p99
    return [
        (
            f"every page of ours (not '{ASKED}'): p99 at most 1.5x Datasette's plain claims "
            "table page",
            ratio <= 1.5,
            f"slowest {name}, {ratio:.2f}x",
        ),
        (f"'{ASKED}': p99 at most 2x the plain claims table page", asked <= 2.0, f"{asked:.2f}x"),
    ]


LOAD_CLIENTS, LOAD_SECONDS = 50, 20


def serve_load(
    database: Path, clients: int = LOAD_CLIENTS, seconds: float = LOAD_SECONDS
) -> tuple[str, tuple[str, bool, str]]:
    """Load on one server (loopback, `clients` at once, `seconds` each): Datasette's plain claims
    table page alone, then a mix of our pages (each page of the latency table in turn, a new
    search each time; not the reference pages, nor the searches with facets asked, which the
    latency table shows apart); the report, and the goal: our mix answers at least as many
    requests a second as the plain page."""
    import asyncio

    from factdb.loadtest import (
        ASKED,
        BASELINE,
        OUTSIDE_GOAL,
        PageStats,
        Server,
        measure,
        pages_for,
    )

    pages = pages_for(database)
    ours = {name: page for name, page in pages.items() if name not in OUTSIDE_GOAL}
    rates, lines = [], []
    with Server(database, None) as server:
        for label, chosen in (("plain claims table", {BASELINE: pages[BASELINE]}), ("ours", ours)):
            stats, elapsed = asyncio.run(measure(server.url, chosen, clients, None, seconds))
            every = PageStats([t for s in stats.values() for t in s.latencies])
            errors = sum(s.errors for s in stats.values())
            rates.append(len(every.latencies) / elapsed)
            lines.append(
                f"{label:<20} {len(every.latencies):>8} requests {errors:>4} errors "
                f"{rates[-1]:>7.1f} requests/s  p99 {every.p99:.2f} s"
            )
    goal = (
        f"under load ({clients} clients, {seconds:.0f} s; our pages but '{ASKED}'): at least "
        "the plain claims table page's requests/s",
        rates[1] >= rates[0],
        f"{rates[1]:.1f} against {rates[0]:.1f} requests/s",
    )
    return "\n".join(lines), goal


def goal_line(goal: str, met: bool, figure: str) -> str:
    return f"{'met    ' if met else 'NOT MET'}  {goal}: {figure}"


def run_benchmark(
    sizes: list[int],
    runs: int,
    workdir: Path,
    serve: bool,
    echo: Callable[[str], object],
    profile: bool = False,
) -> list[SizeResults]:
    rows = []
    compile_project()
    for size in sizes:
        echo(f"Measuring {size:,} claims ({runs} runs each)...")
        rows.append(bench_size(size, runs, workdir, busy=size == sizes[-1]))
    echo("")
    echo("Whole processes, medians; ratios against the floor pipeline measured in this run")
    echo("(yaml-rs parse + pydantic per file + substring checks + executemany + FTS5);")
    echo("'... on 1 core': validate+build with FACTS_WORKERS=1; peak: resident memory of the")
    echo("process and its workers together (pages they share counted in each), of every timed")
    echo("run; Pss: their proportional set size (each shared page divided among the processes")
    echo("that share it), in a validate+build of its own:")
    echo(format_results(rows))
    echo(format_busy(rows[-1]))
    if profile:
        echo("")
        echo("The steps of validate+build (medians; `facts build --profile`), per claim:")
        echo(format_steps(rows))
    echo("")
    for goal in goals(rows[-1]):
        echo(goal_line(*goal))
    if serve:
        echo("")
        echo(
            f"Datasette on the {rows[-1]['size']:,}-claim database (loopback, each page on its "
            f"own: its first request, then {LATENCY_REQUESTS}, 2 at a time), p99 against "
            "Datasette's plain claims table page (`?_nofacet=1`):"
        )
        text, stats = serve_latency(rows[-1]["database"])
        echo(text)
        echo("")
        for goal in latency_goals(stats):
            echo(goal_line(*goal))
        echo("")
        echo(f"Under load ({LOAD_CLIENTS} clients at once for {LOAD_SECONDS} s each, loopback):")
        text, load = serve_load(rows[-1]["database"])
        echo(text)
        echo("")
        echo(goal_line(*load))
    return rows


DOCS_START, DOCS_END = "<!-- bench:start -->", "<!-- bench:end -->"


def write_figures(document: Path, printed: list[str], command: str, when: str) -> None:
    """Put what a run printed between the bench markers of a Markdown file, saying how it ran;
    the rest of the file is kept as it is."""
    text = document.read_text(encoding="utf-8")
    start, end = text.find(DOCS_START), text.find(DOCS_END)
    if start < 0 or end < start:
        raise ValueError(f"{document} has no {DOCS_START} ... {DOCS_END} block")
    figures = "\n".join(line for line in printed if not line.startswith("Measuring "))
    block = (
        f"{DOCS_START}\nPrinted by `{command}` on {when}; the machine is shared and noisy, so "
        f"a second run can differ by a tenth or more.\n\n```text\n{figures.strip()}\n```\n"
    )
    document.write_text(text[:start] + block + text[end:], encoding="utf-8")
