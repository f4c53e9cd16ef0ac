"""Which versions of torch, transformers, lightning, deepspeed and accelerate a project allows.

A version-aware rule asks for the range of one package at one file (`ProjectContext.requirement`)
and gets a `VersionRange`: the releases the project's own files allow, and where that came
from. The files are read only then, once per folder per process, and never executed:

- `pyproject.toml`: `[project] dependencies`, every `optional-dependencies` extra, PEP 735
  `[dependency-groups]`, `[tool.poetry]` dependencies and groups (caret and tilde constraints),
  `[tool.pdm] dev-dependencies`, `[tool.uv] dev-dependencies`, and requirement files named by
  `[tool.setuptools.dynamic]`;
- `setup.py` by its syntax tree only: list literals passed as `install_requires=` and
  `extras_require=` (directly or through a module-level name);
- `setup.cfg` (`[options] install_requires`, `[options.extras_require]`);
- `requirements*.txt` and `requirements/*.txt`, with `-r`/`-c` includes, environment markers,
  comments, line continuations and wheel URLs;
- `environment.yml` / `environment.yaml`: conda match specs and the `pip:` section;
- lock files `uv.lock`, `poetry.lock`, `pdm.lock`, `Pipfile.lock`.

How the sources combine (docs/design.md "Version ranges"):

1. A lock file that names the package wins: what is locked is what runs (a one-point range;
   several locked versions, e.g. per platform, are each a point).
2. Else the requirements that always apply (dependencies, `install_requires`, requirement
   files, conda environments) are intersected: installing the project from its files must
   satisfy all of them at once.
3. Extras, dependency groups and requirements behind an environment marker only narrow an
   installation that chose them, so they count only where no requirement of (2) names the
   package; then they are intersected the same way.
4. Where an intersection holds no release (files meant as alternatives: a CPU and a CUDA
   requirements file), the range is their union.

The folder searched first is the checked file's own; the search goes up until a folder names
the package, and stops at the repository (`.git`), or without one at the nearest project
marker. A range is decided over the real releases of the package (`data/releases.toml`) and
the versions its specifiers name, never by comparing floats. `packaging` is imported only when
a range is built, and its requirement parser only for a line that names a package tracked here.

Why one module: each file reader below returns `Declaration`s whose meaning (always applies,
conditional, locked) is exactly what the combination rules above decide on, and the readers
check wheel names and Poetry constraints against the same release table; split apart, the two
halves would import each other.
"""

from __future__ import annotations

import ast
import os
import re
import tomllib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from msgspec import Struct

if TYPE_CHECKING:
    from packaging.specifiers import SpecifierSet

# PyPI names (PEP 503 normalized) -> the package a rule asks for.
TRACKED = {
    "torch": "torch", "transformers": "transformers", "lightning": "lightning",
    "pytorch-lightning": "lightning", "deepspeed": "deepspeed", "accelerate": "accelerate",
}
# conda package names -> the package a rule asks for (`pytorch-cuda` is the CUDA runtime).
CONDA_NAMES = {**TRACKED, "pytorch": "torch", "pytorch-gpu": "torch", "pytorch-cpu": "torch"}
LOCK_FILES = ("uv.lock", "poetry.lock", "pdm.lock", "Pipfile.lock")
ENVIRONMENT_FILES = ("environment.yml", "environment.yaml")
PROJECT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", "trainlint.toml")
MAX_SOURCE_BYTES = 4 * 1024 * 1024  # a lock file of a large workspace is ~1 MiB
# A cheap first look at a requirement: its name (PEP 508), before `packaging` parses it.
_NAME = re.compile(r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")
# A requirement that is a name, extras and version specifiers only (`torch>=2.1,<2.6`): its
# specifiers are read by packaging's SpecifierSet alone. Its full requirement parser imports
# the marker and platform-tag machinery (subprocess, sysconfig, logging: 15 ms in each
# process), needed only for markers and URLs.
_PLAIN_REQUIREMENT = re.compile(
    r"\s*[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?\s*(?:\[[A-Za-z0-9._,\s-]*\])?\s*"
    r"(?P<specifier>(?:(?:===|~=|==|!=|<=|>=|<|>)\s*[A-Za-z0-9.*+!_-]+\s*,?\s*)*)")
_COMMENT = re.compile(r"(^|\s)#.*$")
_WORDS = ("torch", "transformers", "lightning", "deepspeed", "accelerate")


class Declaration(Struct, frozen=True):
    """One requirement on a tracked package, as a file states it."""

    package: str  # the tracked name ("torch", "lightning", ...)
    specifier: str  # PEP 440 specifiers ("" allows every version)
    source: str  # the file, relative to the folder it was found from
    conditional: bool = False  # an extra, a dependency group, or behind an environment marker
    locked: bool = False  # a lock file's exact version


class VersionRange(Struct, frozen=True):
    """The versions of one package a project allows, and where that came from.

    `versions` are the real releases (and the versions the requirement names) inside the range,
    oldest first. `kind` is "setting" (target-torch / target-transformers: exactly that
    version), "lock", "requirement", or "unknown" (no requirement found: every release).
    """

    package: str
    versions: tuple[Any, ...]  # packaging Version objects
    kind: str
    text: str = ""  # the specifiers, e.g. ">=2.1,<2.6"; the locked version(s) for a lock
    source: str = ""  # e.g. "pyproject.toml", "requirements.txt and setup.py", "uv.lock"

    @property
    def known(self) -> bool:
        return self.kind != "unknown"

    def describe(self) -> str:
        """`torch >=2.1,<2.6 from pyproject.toml`, `torch 2.5.1 locked in uv.lock`, ..."""
        if self.kind == "setting":
            return f"{self.package} {self.text} ({self.source})"
        if self.kind == "lock":
            return f"{self.package} {self.text} locked in {self.source}"
        if self.kind == "requirement":
            what = self.text or "(any version)"
            return f"{self.package} {what} from {self.source}"
        return f"no {self.package} requirement found"

    def below(self, version: str) -> tuple[Any, ...]:
        """The versions of the range older than `version`."""
        bound = _version(version)
        return tuple(v for v in self.versions if v < bound)

    def at_least(self, version: str) -> tuple[Any, ...]:
        """The versions of the range at `version` or newer."""
        bound = _version(version)
        return tuple(v for v in self.versions if v >= bound)

    @staticmethod
    def series(versions: Iterable[Any]) -> str:
        """`2.1-2.5`: the minor series some versions of a range span (see `series`)."""
        return series(versions)


def series(versions: Iterable[Any]) -> str:
    """`2.1-2.5` for the minor series the versions span; one version as it is written."""
    listed = sorted(versions)
    if not listed:
        return ""
    if len(listed) == 1:
        return str(listed[0])
    first, last = listed[0].release, listed[-1].release
    low, high = ".".join(map(str, first[:2])), ".".join(map(str, last[:2]))
    return low if low == high else f"{low}-{high}"


# ---------------------------------------------------------------- ranges

def exact_range(package: str, version: tuple[int, ...], source: str) -> VersionRange:
    """The range of a `target-torch` / `target-transformers` setting: exactly that version."""
    text = ".".join(map(str, version))
    return VersionRange(package, (_version(text),), "setting", text,
                        f"target-{package} in {source}" if source != "command line"
                        else f"--target-{package}")


def project_range(package: str, path: str, cache: dict | None = None) -> VersionRange:
    """The range of `package` that the project of the file at `path` allows. `cache` (one
    per run) keeps the answer per folder; the files' contents are kept per process, and read
    again when a file changes."""
    start = os.path.dirname(os.path.abspath(path))
    key = (package, start)
    if cache is not None and key in cache:
        return cache[key]
    found = unknown_range(package)
    for folder in search_folders(start):
        declared = [d for d in declarations_in(folder) if d.package == package]
        if declared:
            found = range_of(package, declared)
            break
    if cache is not None:
        cache[key] = found
    return found


def unknown_range(package: str) -> VersionRange:
    return VersionRange(package, tuple(releases(package)), "unknown")


def range_of(package: str, declared: list[Declaration]) -> VersionRange:
    """The range that several declarations of one package allow together (see the module
    docstring for the order: lock, unconditional intersection, conditional, union)."""
    locked = [d for d in declared if d.locked]
    if locked:
        points = sorted({_version(d.specifier.lstrip("=")) for d in locked} - {None})
        if points:
            return VersionRange(package, tuple(points), "lock",
                                " or ".join(str(v) for v in points), _joined(d.source for d in locked))
    chosen = [d for d in declared if not d.conditional and not d.locked] or \
             [d for d in declared if not d.locked]
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    specs: list[tuple[SpecifierSet, Declaration]] = []
    for declaration in chosen:
        try:
            specs.append((SpecifierSet(declaration.specifier), declaration))
        except InvalidSpecifier:
            continue
    if not specs:
        return unknown_range(package)
    candidates = sorted(set(releases(package)) | _named_versions(s for s, _ in specs))
    combined = SpecifierSet()
    for spec, _ in specs:
        combined &= spec
    inside = [v for v in candidates if combined.contains(v, prereleases=True)]
    if inside:
        return VersionRange(package, tuple(inside), "requirement", _spec_text(combined),
                            _joined(d.source for _, d in specs))
    inside = [v for v in candidates if any(s.contains(v, prereleases=True) for s, _ in specs)]
    if not inside:
        return unknown_range(package)
    alternatives = " or ".join(dict.fromkeys(f"{_spec_text(s)} ({d.source})" for s, d in specs))
    return VersionRange(package, tuple(inside), "requirement", alternatives,
                        _joined(d.source for _, d in specs))


def releases(package: str) -> list[Any]:
    """The package's final releases from data/releases.toml, oldest first ([] if not listed)."""
    global _RELEASES
    if _RELEASES is None:
        table = tomllib.loads((Path(__file__).parent / "data" / "releases.toml").read_text("utf-8"))
        _RELEASES = {name: [_version(v) for v in listed] for name, listed in table.items()}
    return _RELEASES.get(package, [])


def _named_versions(specs: Iterable[SpecifierSet]) -> set[Any]:
    """The versions specifiers name (`==2.16.0`, `>=2.16`): a release newer than the table is
    then still in the range."""
    named = set()
    for spec in specs:
        for each in spec:
            version = _version(each.version.removesuffix(".*"))
            if version is not None and each.operator not in ("!=", "<", ">"):
                named.add(version)
    return named


_OPERATOR_ORDER = {"===": 0, "==": 0, "~=": 1, ">=": 2, ">": 3, "!=": 4, "<=": 5, "<": 6}


def _spec_text(spec: SpecifierSet) -> str:
    """Lower bounds first: `>=2.1,<2.6`, not packaging's alphabetical `<2.6,>=2.1`."""
    ordered = sorted(spec, key=lambda s: (_OPERATOR_ORDER.get(s.operator, 9), s.version))
    return ",".join(dict.fromkeys(str(s) for s in ordered))


def _joined(sources: Iterable[str]) -> str:
    unique = list(dict.fromkeys(sources))
    if len(unique) <= 2:
        return " and ".join(unique)
    return ", ".join(unique[:-1]) + f" and {unique[-1]}"


def _version(text: str) -> Any:
    from packaging.version import InvalidVersion, Version

    try:
        return Version(text)
    except InvalidVersion:
        return None


# ---------------------------------------------------------------- where to look

# folder -> (the sources' names, sizes and modification times, what they declare)
_DECLARED: dict[str, tuple[tuple, list[Declaration]]] = {}
_RELEASES: dict[str, list[Any]] | None = None


def search_folders(start: str) -> list[str]:
    """The folders a file's requirements may be in, nearest first: up to the repository root
    (a folder with `.git`); without a repository, up to the nearest project marker, or only
    the file's own folder."""
    chain, folder = [], start
    while True:
        chain.append(folder)
        if os.path.exists(os.path.join(folder, ".git")):
            break
        parent = os.path.dirname(folder)
        if parent == folder:
            marked = next((i for i, each in enumerate(chain)
                           if any(os.path.exists(os.path.join(each, m)) for m in PROJECT_MARKERS)),
                          0)
            chain = chain[:marked + 1]
            break
        folder = parent
    return chain


_READERS: dict[str, Any] = {}


def declarations_in(folder: str) -> list[Declaration]:
    """Every requirement on a tracked package that the files of one folder state (read again
    when one of them changed)."""
    base = Path(folder)
    sources = _sources(base)
    signature = tuple(_stamp(path) for path in sources)
    cached = _DECLARED.get(folder)
    if cached is not None and cached[0] == signature:
        return cached[1]
    if not _READERS:
        _READERS.update({"pyproject.toml": _from_pyproject, "setup.py": _from_setup_py,
                         "setup.cfg": _from_setup_cfg, "Pipfile.lock": _from_pipfile_lock,
                         **{name: _from_toml_lock for name in ("uv.lock", "poetry.lock",
                                                               "pdm.lock")},
                         **{name: _from_environment for name in ENVIRONMENT_FILES}})
    found: list[Declaration] = []
    seen: set[Path] = set()
    for path in sources:
        reader = _READERS.get(path.name, _from_requirements)
        found.extend(reader(path, base, seen))
    _DECLARED[folder] = (signature, found)
    return found


def _sources(base: Path) -> list[Path]:
    """The requirement and lock files of one folder, in a fixed order."""
    try:
        names = sorted(os.listdir(base))
    except OSError:
        return []
    chosen = [base / name for name in names
              if name in _SOURCE_NAMES or (name.startswith("requirements") and name.endswith(".txt"))]
    if "requirements" in names:
        try:
            chosen.extend(base / "requirements" / name
                          for name in sorted(os.listdir(base / "requirements"))
                          if name.endswith(".txt"))
        except OSError:
            pass
    return [path for path in chosen if path.is_file()]


_SOURCE_NAMES = frozenset({"pyproject.toml", "setup.py", "setup.cfg", *LOCK_FILES,
                           *ENVIRONMENT_FILES})


def _stamp(path: Path) -> tuple[str, int, int]:
    try:
        stat = path.stat()
    except OSError:
        return str(path), -1, -1
    return str(path), stat.st_mtime_ns, stat.st_size


def _read(path: Path, words: tuple[str, ...] = _WORDS) -> str | None:
    """A source's text when it may name a tracked package (holds one of `words`); None when
    it cannot, or is unreadable, or too large to be a requirements file."""
    try:
        if path.stat().st_size > MAX_SOURCE_BYTES:
            return None
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    lowered = text.lower()
    return text if any(word in lowered for word in words) else None


def _label(path: Path, base: Path) -> str:
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return path.name


# ---------------------------------------------------------------- one requirement

def parse_requirement(line: str, source: str, conditional: bool = False) -> Declaration | None:
    """A PEP 508 requirement (or a wheel URL / file) on a tracked package, else None."""
    line = line.strip()
    location = line.split(";", 1)[0].strip()
    if location.lower().endswith(".whl") and " @ " not in location:
        return _from_wheel_name(line, source, conditional)  # a bare URL or path of a wheel
    match = _NAME.match(line)
    if match is None or ("://" in location and "@" not in location.split("://", 1)[0]):
        return None  # a VCS or archive URL without a name
    package = TRACKED.get(_normalized(match.group(1)))
    if package is None:
        return None
    plain = _PLAIN_REQUIREMENT.fullmatch(line)
    if plain is not None:
        from packaging.specifiers import InvalidSpecifier, SpecifierSet

        try:
            specifier = SpecifierSet(plain["specifier"].strip().rstrip(","))
        except InvalidSpecifier:
            return None
        return Declaration(package, _public(str(specifier)), source, conditional)
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        requirement = Requirement(line)
    except InvalidRequirement:
        return None
    specifier = _public(str(requirement.specifier))
    if not specifier and requirement.url:
        wheel = _from_wheel_name(requirement.url, source, conditional)
        specifier = wheel.specifier if wheel is not None else ""
    return Declaration(package, specifier, source,
                       conditional or _narrows(requirement.marker))


def _narrows(marker: Any) -> bool:
    """A marker on the platform or an extra makes a requirement one alternative among
    others; one on the Python version only (`python_version >= "3.9"`) does not."""
    return marker is not None and any(name in str(marker) for name in _ALTERNATIVE_MARKERS)


_ALTERNATIVE_MARKERS = ("sys_platform", "platform_system", "platform_machine", "os_name",
                        "platform_release", "platform_version", "extra")


def _from_wheel_name(text: str, source: str, conditional: bool) -> Declaration | None:
    """`https://download.pytorch.org/whl/cu118/torch-2.0.1%2Bcu118-cp310-...whl` -> ==2.0.1."""
    from urllib.parse import unquote

    location = unquote(text.split(";", 1)[0].split("#", 1)[0].strip())
    name = location.rstrip("/").rsplit("/", 1)[-1]
    if not name.endswith(".whl"):
        return None
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    try:
        project, version, _, _ = parse_wheel_filename(name)
    except InvalidWheelFilename:
        return None
    package = TRACKED.get(str(project))
    if package is None:
        return None
    return Declaration(package, f"=={version.public}", source, conditional)


def _normalized(name: str) -> str:
    """PEP 503: `PyTorch_Lightning` and `pytorch.lightning` are `pytorch-lightning`."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _public(specifier: str) -> str:
    """Drop local version labels (`==2.1.0+cu118` -> `==2.1.0`): the range is about releases."""
    return re.sub(r"\+[A-Za-z0-9.]+", "", specifier)


# ---------------------------------------------------------------- requirement files

def _from_requirements(path: Path, base: Path, seen: set[Path],
                       conditional: bool = False, depth: int = 0) -> list[Declaration]:
    """A pip requirements file, following `-r`/`-c` includes (each file once)."""
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):
        return []
    if resolved in seen or depth > 10:
        return []
    seen.add(resolved)
    try:
        if path.stat().st_size > MAX_SOURCE_BYTES:
            return []
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return _requirement_lines(text, path.parent, _label(path, base), base, seen, conditional, depth)


def _requirement_lines(text: str, folder: Path, source: str, base: Path, seen: set[Path],
                       conditional: bool = False, depth: int = 0) -> list[Declaration]:
    found = []
    for line in _logical_lines(text):
        if line.startswith("-"):
            included = _included_file(line)
            if included is not None:
                found.extend(_from_requirements(folder / included, base, seen, conditional,
                                                depth + 1))
            continue
        requirement = line.split(" --", 1)[0].split("\t--", 1)[0]  # per-line --hash=...
        declaration = parse_requirement(requirement, source, conditional)
        if declaration is not None:
            found.append(declaration)
    return found


def _logical_lines(text: str) -> Iterator[str]:
    """Lines with comments removed and `\\` continuations joined, as pip reads them."""
    pending = ""
    for raw in text.splitlines():
        line = _COMMENT.sub("", raw) if "#" in raw else raw
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if line:
            yield line
    if pending.strip():
        yield pending.strip()


def _included_file(line: str) -> str | None:
    """The file of `-r x.txt`, `--requirement=x.txt`, `-c constraints.txt`, else None."""
    for flag in ("--requirement", "--constraint", "-r", "-c"):
        if line.startswith(flag):
            rest = line[len(flag):].lstrip(" =\t")
            return rest.split()[0] if rest else None
    return None


# ---------------------------------------------------------------- pyproject.toml

def _from_pyproject(path: Path, base: Path, seen: set[Path]) -> list[Declaration]:
    text = _read(path, (*_WORDS, "dynamic"))
    if text is None:
        return []
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError):
        return []
    source = _label(path, base)
    found: list[Declaration] = []
    project = _table(data.get("project"))
    found.extend(_requirement_list(project.get("dependencies"), source, False))
    for extra in _table(project.get("optional-dependencies")).values():
        found.extend(_requirement_list(extra, source, True))
    for group in _table(data.get("dependency-groups")).values():
        found.extend(_requirement_list(group, source, True))  # {include-group} tables skipped
    tool = _table(data.get("tool"))
    poetry = _table(tool.get("poetry"))
    found.extend(_poetry_table(poetry.get("dependencies"), source, False))
    found.extend(_poetry_table(poetry.get("dev-dependencies"), source, True))
    for group in _table(poetry.get("group")).values():
        found.extend(_poetry_table(_table(group).get("dependencies"), source, True))
    for group in _table(_table(tool.get("pdm")).get("dev-dependencies")).values():
        found.extend(_requirement_list(group, source, True))
    found.extend(_requirement_list(_table(tool.get("uv")).get("dev-dependencies"), source, True))
    dynamic = _table(_table(_table(tool.get("setuptools")).get("dynamic")).get("dependencies"))
    files = dynamic.get("file")
    for name in [files] if isinstance(files, str) else files if isinstance(files, list) else []:
        if isinstance(name, str):
            found.extend(_from_requirements(path.parent / name, base, seen))
    return found


def _table(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _requirement_list(value: Any, source: str, conditional: bool) -> list[Declaration]:
    if not isinstance(value, list):
        return []
    found = []
    for item in value:
        if isinstance(item, str):
            declaration = parse_requirement(item, source, conditional)
            if declaration is not None:
                found.append(declaration)
    return found


def _poetry_table(value: Any, source: str, conditional: bool) -> list[Declaration]:
    """`torch = "^2.1"`, `torch = {version = "~2.1", markers = "..."}`, or a list of those."""
    found = []
    for name, constraint in _table(value).items():
        package = TRACKED.get(_normalized(str(name)))
        if package is None:
            continue
        entries = constraint if isinstance(constraint, list) else [constraint]
        for entry in entries:
            narrowed = conditional or len(entries) > 1
            if isinstance(entry, dict):
                narrowed = narrowed or any(k in entry for k in ("markers", "python", "optional",
                                                                  "platform"))
                entry = entry.get("version", "*")
            if not isinstance(entry, str):
                continue
            alternatives = poetry_specifiers(entry)
            for specifier in alternatives:
                found.append(Declaration(package, specifier, source,
                                         narrowed or len(alternatives) > 1))
    return found


def poetry_specifiers(constraint: str) -> list[str]:
    """Poetry's constraint syntax as PEP 440 specifiers, one per `||` alternative:
    `^2.1` -> `>=2.1,<3.0`, `~2.1.3` -> `>=2.1.3,<2.2.0`, `2.1.*` -> `==2.1.*`, `2.1` ->
    `==2.1`, `*` -> any."""
    alternatives = []
    for alternative in constraint.split("||"):
        parts = []
        for part in re.split(r"\s*,\s*|\s+(?=[<>=!~^])", alternative.strip()):
            converted = _poetry_part(part.replace(" ", ""))
            if converted is None:
                break
            if converted:
                parts.append(converted)
        else:
            alternatives.append(",".join(parts))
    return alternatives


def _poetry_part(part: str) -> str | None:
    if part in ("", "*"):
        return ""
    if part[0] in "^~" and not part.startswith("~="):
        numbers = part[1:].split(".")
        if not all(n.isdigit() for n in numbers):
            return None
        values = [int(n) for n in numbers]
        if part[0] == "^":
            index = next((i for i, v in enumerate(values) if v != 0), len(values) - 1)
        else:
            index = 0 if len(values) == 1 else 1
        upper = values[:index + 1]
        upper[-1] += 1
        return f">={part[1:]},<{'.'.join(map(str, upper))}"
    if part[0].isdigit():
        return f"=={part}"
    return part


# ---------------------------------------------------------------- setup.py / setup.cfg

def _from_setup_py(path: Path, base: Path, seen: set[Path]) -> list[Declaration]:
    """`setup(install_requires=[...], extras_require={...})` read from the syntax tree; a
    list built at run time (read from a file, computed) is not followed."""
    text = _read(path)
    if text is None:
        return []
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    assigned: dict[str, ast.expr] = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1 \
                and isinstance(statement.targets[0], ast.Name):
            assigned[statement.targets[0].id] = statement.value
    table = _requirement_table(assigned)
    source = _label(path, base)
    found: list[Declaration] = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and _called_name(node.func) == "setup"):
            continue
        for keyword in node.keywords:
            if keyword.arg == "install_requires":
                for line in _strings(keyword.value, assigned, table):
                    found.extend(_declared(line, source, False))
            elif keyword.arg == "extras_require":
                extras = _resolved(keyword.value, assigned)
                if isinstance(extras, ast.Dict):
                    for value in extras.values:
                        for line in _strings(value, assigned, table):
                            found.extend(_declared(line, source, True))
    return found


def _called_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _resolved(node: ast.expr, assigned: dict[str, ast.expr], depth: int = 0) -> ast.expr:
    while isinstance(node, ast.Name) and node.id in assigned and depth < 5:
        node, depth = assigned[node.id], depth + 1
    return node


def _requirement_table(assigned: dict[str, ast.expr]) -> dict[str, str]:
    """The Hugging Face setup.py pattern: `_deps = ["torch>=2.1", ...]` and
    `install_requires = [deps["torch"], ...]`, where `deps` maps each name to its line (built
    at run time with a regex). Every module-level list of requirement strings gives such a
    table, read by name."""
    table: dict[str, str] = {}
    for value in list(assigned.values()):
        if isinstance(value, (ast.List, ast.Tuple)):
            for element in value.elts:
                if isinstance(element, ast.Constant) and isinstance(element.value, str):
                    match = _NAME.match(element.value)
                    if match is not None:
                        table.setdefault(match.group(1), element.value)
    return table


def _strings(node: ast.expr, assigned: dict[str, ast.expr], table: dict[str, str],
             depth: int = 0) -> list[str]:
    """The string literals of a list expression: `[...]`, `A + B`, a module-level name, and
    `deps["torch"]` looked up in a list of requirement strings (_requirement_table)."""
    if depth > 10:
        return []
    node = _resolved(node, assigned)
    if isinstance(node, (ast.List, ast.Tuple)):
        found = []
        for element in node.elts:
            if isinstance(element, ast.Constant) and isinstance(element.value, str):
                found.append(element.value)
            elif (isinstance(element, ast.Subscript) and isinstance(element.slice, ast.Constant)
                  and isinstance(element.slice.value, str)):
                line = table.get(element.slice.value)
                if line is not None:
                    found.append(line)
        return found
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return (_strings(node.left, assigned, table, depth + 1)
                + _strings(node.right, assigned, table, depth + 1))
    return []


def _declared(line: str, source: str, conditional: bool) -> list[Declaration]:
    declaration = parse_requirement(line, source, conditional)
    return [] if declaration is None else [declaration]


def _from_setup_cfg(path: Path, base: Path, seen: set[Path]) -> list[Declaration]:
    text = _read(path)
    if text is None:
        return []
    import configparser

    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text)
    except configparser.Error:
        return []
    source = _label(path, base)
    found: list[Declaration] = []
    if parser.has_option("options", "install_requires"):
        found.extend(_cfg_value(parser.get("options", "install_requires"), path, base, source,
                                seen, False))
    if parser.has_section("options.extras_require"):
        for _, value in parser.items("options.extras_require"):
            found.extend(_cfg_value(value, path, base, source, seen, True))
    return found


def _cfg_value(value: str, path: Path, base: Path, source: str, seen: set[Path],
               conditional: bool) -> list[Declaration]:
    """A setup.cfg list (one requirement per line, or `file: requirements.txt`)."""
    value = value.strip()
    if value.startswith("file:"):
        found = []
        for name in value[len("file:"):].split(","):
            if name.strip():
                found.extend(_from_requirements(path.parent / name.strip(), base, seen,
                                                conditional))
        return found
    return _requirement_lines(value, path.parent, source, base, seen, conditional)


# ---------------------------------------------------------------- conda

def _from_environment(path: Path, base: Path, seen: set[Path]) -> list[Declaration]:
    text = _read(path)
    if text is None:
        return []
    import yaml

    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (yaml.YAMLError, ValueError, RecursionError):
        return []
    source = _label(path, base)
    found: list[Declaration] = []
    dependencies = _table(data).get("dependencies")
    for item in dependencies if isinstance(dependencies, list) else []:
        if isinstance(item, str):
            found.extend(conda_declarations(item, source))
        elif isinstance(item, dict) and isinstance(item.get("pip"), list):
            lines = "\n".join(line for line in item["pip"] if isinstance(line, str))
            found.extend(_requirement_lines(lines, path.parent, source, base, seen))
    return found


def conda_declarations(spec: str, source: str) -> list[Declaration]:
    """A conda match spec: `pytorch=2.1` (2.1.*), `pytorch==2.1.0=py3.10_cuda11.8_0`,
    `conda-forge::pytorch>=2.0,<2.2`, `pytorch 2.1.*`, `pytorch 2.1|2.2`."""
    spec = spec.split("::")[-1].strip()
    match = re.match(r"([A-Za-z0-9_.\-]+)\s*(.*)$", spec)
    if match is None:
        return []
    package = CONDA_NAMES.get(_normalized(match.group(1)))
    if package is None:
        return []
    version = match.group(2).strip()
    if version.startswith("["):  # pytorch[version='>=2.0']
        inner = re.search(r"version\s*=\s*['\"]?([^'\"\]]+)", version)
        version = inner.group(1).strip() if inner else ""
    version = version.split()[0] if version else ""  # `2.1.0 py310_0`: the build goes
    alternatives = [_conda_version(each) for each in version.split("|")]
    return [Declaration(package, each, source, len(alternatives) > 1) for each in alternatives]


def _conda_version(version: str) -> str:
    """`=2.1` -> `==2.1.*` (conda's fuzzy equality), `==2.1.0=build` -> `==2.1.0`, `2.1.*`
    -> `==2.1.*`, `>=2.0,<2.2` as it is."""
    if version.startswith("=="):
        version = "==" + version[2:].split("=")[0]
    elif version.startswith("="):
        version = version[1:].split("=")[0]
        version = "==" + (version if version.endswith("*") else f"{version}.*")
    elif version[:1].isdigit():
        version = "==" + version.split("=")[0]
    return re.sub(r"(?<=\d)\*", ".*", version)


# ---------------------------------------------------------------- lock files

def _from_toml_lock(path: Path, base: Path, seen: set[Path]) -> list[Declaration]:
    """uv.lock, poetry.lock and pdm.lock: `[[package]]` tables with a name and a version."""
    text = _read(path)
    if text is None:
        return []
    try:
        packages = _tracked_packages(text)
    except (tomllib.TOMLDecodeError, ValueError):
        return []
    source = _label(path, base)
    found = []
    for entry in packages:
        if not isinstance(entry, dict):
            continue
        name, version = entry.get("name"), entry.get("version")
        package = TRACKED.get(_normalized(name)) if isinstance(name, str) else None
        if package is not None and isinstance(version, str):
            found.append(Declaration(package, f"=={_public(version)}", source, locked=True))
    return found


_PACKAGE_TABLE = re.compile(r"^\[\[\s*package\s*\]\][ \t]*(?:#.*)?$", re.MULTILINE)
_NAME_KEY = re.compile(r"^name\s*=\s*[\"']([^\"'\n]+)[\"']", re.MULTILINE)


def _tracked_packages(text: str) -> list:
    """The `[[package]]` tables of a TOML lock file that may name a tracked package, each
    parsed on its own: a table's own keys come before its sub-tables, so its first `name =`
    line is its name. tomllib on all of Megatron-LM's 1 MB uv.lock took 0.45 s, the few
    tables wanted take a millisecond. A file with no such table header is parsed whole."""
    starts = [match.start() for match in _PACKAGE_TABLE.finditer(text)]
    if not starts:
        packages = tomllib.loads(text).get("package")
        return packages if isinstance(packages, list) else []
    found = []
    for start, end in zip(starts, [*starts[1:], len(text)]):
        table = text[start:end]
        name = _NAME_KEY.search(table)
        if name is not None and _normalized(name.group(1)) in TRACKED:
            found.extend(tomllib.loads(table).get("package") or ())
    return found


def _from_pipfile_lock(path: Path, base: Path, seen: set[Path]) -> list[Declaration]:
    text = _read(path)
    if text is None:
        return []
    import json

    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return []
    source = _label(path, base)
    found = []
    for section in ("default", "develop"):
        for name, entry in _table(_table(data).get(section)).items():
            package = TRACKED.get(_normalized(str(name)))
            version = _table(entry).get("version")
            if package is not None and isinstance(version, str) and version.startswith("=="):
                found.append(Declaration(package, _public(version), source, locked=True))
    return found
