"""The Codex assets shipped with maestro: find them, check them, install them.

maestro ships skills (``.codex/skills/<name>/SKILL.md``), agent roles (``.codex/agents/``),
a configuration example and a plugin marketplace (``.agents/plugins/marketplace.json``) in
the same repository as the runtime, so the lane contract and the instructions agents read
change together. The checks live here, not in the tests, so that ``maestro assets check``,
``maestro assets install`` and ``nox -s smoke`` all report a broken asset the same way: one
line naming the file and the problem.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from maestro.containment.childenv import child_env
from maestro.errors import MaestroError

SKILLS_DIR = Path(".codex/skills")
AGENTS_DIR = Path(".codex/agents")
CONFIG_EXAMPLE = Path(".codex/config.example.toml")
MARKETPLACE = Path(".agents/plugins/marketplace.json")
MARKETPLACE_SCHEMA = Path(".agents/plugins/marketplace.schema.json")

#: Codex rejects skill names and descriptions beyond these lengths.
MAX_NAME = 64
MAX_DESCRIPTION = 1024
SCRIPT_TIMEOUT_S = 30
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_MENTION = re.compile(r"`((?:scripts|references|assets|agents)/[\w./-]+)`")
_SANDBOX_MODES = ("read-only", "workspace-write", "danger-full-access")
_SECRET_KEY = re.compile(r"(token|secret|password|api_key|apikey)", re.IGNORECASE)


class AssetsError(MaestroError):
    """Shipped assets are broken or missing; the message lists one problem per line."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one file; ``str()`` is the line a maintainer reads."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def assets_root() -> Path:
    """Where the assets are: inside an installed wheel, or the source tree of a checkout.

    The wheel carries them under ``maestro/_assets`` (see ``force-include`` in
    pyproject.toml); an editable install or a plain checkout finds them beside the package.
    """
    package = Path(__file__).resolve().parents[1]  # maestro/, not maestro/assets/
    for candidate in (package / "_assets", package.parent):
        if (candidate / SKILLS_DIR).is_dir():
            return candidate
    raise AssetsError(f"maestro's Codex assets are missing: no {SKILLS_DIR} in "
                      f"{package / '_assets'} or {package.parent}; reinstall maestro")


def default_codex_home() -> Path:
    """``$CODEX_HOME`` or ``~/.codex``, the folder the real ``codex`` reads."""
    configured = os.environ.get("CODEX_HOME")
    return Path(configured).expanduser() if configured else Path.home() / ".codex"


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


# -- skills -----------------------------------------------------------------------------------


def parse_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """Split ``SKILL.md`` into its YAML front matter and body; ValueError says what is wrong."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        raise ValueError("front matter: the file must start with a '---' line")
    for index, line in enumerate(lines[1:], start=1):
        if line.strip() == "---":
            raw, body = "".join(lines[1:index]), "".join(lines[index + 1:])
            break
    else:
        raise ValueError("front matter: no closing '---' line")
    try:
        loaded = YAML(typ="safe", pure=True).load(io.StringIO(raw))
    except YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" (line {where.line + 2})" if where is not None else ""
        problem = getattr(exc, "problem", None) or exc
        raise ValueError(f"front matter: invalid YAML{at}: {problem}") from None
    if not isinstance(loaded, dict):
        raise ValueError("front matter: expected a YAML mapping with name and description")
    return loaded, body


def _subdirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def skill_dirs(root: Path) -> list[Path]:
    """Every shipped skill folder under ``root``, sorted by name."""
    return _subdirs(root / SKILLS_DIR)


def skill_scripts(skill: Path) -> list[Path]:
    """The Python scripts a skill ships (``scripts/*.py``)."""
    return sorted((skill / "scripts").glob("*.py"))


def referenced_files(body: str) -> list[str]:
    """Relative files the instructions point at: Markdown links and `scripts/...` mentions."""
    found: list[str] = []
    for target in [*_LINK.findall(body), *_MENTION.findall(body)]:
        target = target.split("#", 1)[0]
        if not target or "://" in target or target.startswith(("mailto:", "/")):
            continue
        if target not in found:
            found.append(target)
    return found


def check_skill(skill: Path, root: Path) -> list[Problem]:
    """Front matter valid, name matches the folder, every referenced file exists."""
    manifest = skill / "SKILL.md"
    shown = _rel(manifest, root)
    if not manifest.is_file():
        return [Problem(_rel(skill, root), "skill folder has no SKILL.md")]
    try:
        meta, body = parse_front_matter(manifest.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        return [Problem(shown, str(exc))]
    problems: list[Problem] = []
    name = meta.get("name")
    if not isinstance(name, str) or not _NAME.match(name) or len(name) > MAX_NAME:
        problems.append(Problem(shown, f"front matter: name must be lower-case letters, digits "
                                       f"and '-', at most {MAX_NAME} characters (got {name!r})"))
    elif name != skill.name:
        problems.append(Problem(shown, f"front matter: name {name!r} differs from its folder "
                                       f"{skill.name!r}"))
    description = meta.get("description")
    if not isinstance(description, str) or not description.strip():
        problems.append(Problem(shown, "front matter: description must be a non-empty string"))
    elif len(description) > MAX_DESCRIPTION:
        problems.append(Problem(shown, f"front matter: description is longer than "
                                       f"{MAX_DESCRIPTION} characters"))
    if not body.strip():
        problems.append(Problem(shown, "no instructions after the front matter"))
    for target in referenced_files(body):
        path = (skill / target).resolve()
        if not path.is_relative_to(skill.resolve()):
            problems.append(Problem(shown, f"references {target!r} outside the skill folder"))
        elif not path.exists():
            problems.append(Problem(shown, f"references {target!r}, which does not exist"))
    return problems


def skill_json_files(skill: Path) -> list[Path]:
    """The JSON files a skill ships (schemas, examples), in any of its folders."""
    return sorted(skill.rglob("*.json"))


def check_skill_json(skill: Path, root: Path) -> list[Problem]:
    """Every shipped JSON file parses; every ``*.schema.json`` is a valid JSON Schema.

    The schema check needs ``jsonschema`` (a test dependency): without it only the parse
    is checked here, and :func:`check_all` reports the missing package instead.
    """
    problems: list[Problem] = []
    try:
        import jsonschema
    except ImportError:
        jsonschema = None
    for path in skill_json_files(skill):
        document, found = _load_json(path, root)
        problems += found
        if found or jsonschema is None or not path.name.endswith(".schema.json"):
            continue
        try:
            jsonschema.Draft202012Validator.check_schema(document)
        except jsonschema.SchemaError as exc:
            where = ".".join(str(p) for p in exc.absolute_path) or "(root)"
            problems.append(Problem(_rel(path, root),
                                    f"not a valid JSON Schema: {where}: {exc.message}"))
    return problems


def run_scripts(skill: Path, root: Path) -> list[Problem]:
    """Every shipped script starts and answers ``--help`` (no bytecode left behind), with the
    allow-listed environment of code an agent may have written (containment/childenv.py)."""
    problems: list[Problem] = []
    for script in skill_scripts(skill):
        try:
            proc = subprocess.run([sys.executable, "-B", str(script), "--help"],
                                  capture_output=True, text=True,
                                  errors="replace", timeout=SCRIPT_TIMEOUT_S,
                                  cwd=skill, check=False, env=child_env())
        except subprocess.TimeoutExpired:
            problems.append(Problem(_rel(script, root),
                                    f"`--help` did not finish in {SCRIPT_TIMEOUT_S}s"))
            continue
        if proc.returncode != 0:
            tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
            problems.append(Problem(_rel(script, root),
                                    f"`--help` exited {proc.returncode}: {tail}"))
    return problems


# -- agent roles and the configuration example ------------------------------------------------


def _load_toml(path: Path, root: Path) -> tuple[dict[str, Any] | None, list[Problem]]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8")), []
    except FileNotFoundError:
        return None, [Problem(_rel(path, root), "file does not exist")]
    except tomllib.TOMLDecodeError as exc:
        return None, [Problem(_rel(path, root), f"invalid TOML: {exc}")]


def _secrets(table: dict[str, Any], prefix: str = "") -> Iterable[str]:
    for key, value in table.items():
        if isinstance(value, dict):
            yield from _secrets(value, f"{prefix}{key}.")
        elif isinstance(value, str) and value and _SECRET_KEY.search(key):
            yield f"{prefix}{key}"


def check_agent(path: Path, root: Path) -> list[Problem]:
    """A Codex agent role: name (= file stem), description, developer_instructions."""
    data, problems = _load_toml(path, root)
    if data is None:
        return problems
    shown = _rel(path, root)
    if data.get("name") != path.stem:
        problems.append(Problem(shown, f"name must be {path.stem!r} (the file name), "
                                       f"got {data.get('name')!r}"))
    for key in ("description", "developer_instructions"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            problems.append(Problem(shown, f"{key} must be a non-empty string"))
    if "sandbox_mode" in data and data["sandbox_mode"] not in _SANDBOX_MODES:
        problems.append(Problem(shown, f"sandbox_mode must be one of {', '.join(_SANDBOX_MODES)}"))
    problems += [Problem(shown, f"{key}: holds a credential; secrets never go in shipped files")
                 for key in _secrets(data)]
    return problems


def check_config_example(root: Path) -> list[Problem]:
    """The example is unattended (approval never), sandboxed, and holds no credentials."""
    path = root / CONFIG_EXAMPLE
    data, problems = _load_toml(path, root)
    if data is None:
        return problems
    shown = _rel(path, root)
    if data.get("approval_policy") != "never":
        problems.append(Problem(shown, "approval_policy must be \"never\": an unattended lane "
                                       "cannot wait for approval"))
    if data.get("sandbox_mode") not in ("read-only", "workspace-write"):
        problems.append(Problem(shown, "sandbox_mode must be \"workspace-write\" or "
                                       "\"read-only\""))
    problems += [Problem(shown, f"{key}: holds a credential; secrets never go in shipped files")
                 for key in _secrets(data)]
    return problems


# -- the marketplace --------------------------------------------------------------------------


def _load_json(path: Path, root: Path) -> tuple[Any, list[Problem]]:
    try:
        return json.loads(path.read_text(encoding="utf-8")), []
    except FileNotFoundError:
        return None, [Problem(_rel(path, root), "file does not exist")]
    except ValueError as exc:
        return None, [Problem(_rel(path, root), f"invalid JSON: {exc}")]


def _schema_problems(document: Any, root: Path) -> list[Problem]:
    schema, problems = _load_json(root / MARKETPLACE_SCHEMA, root)
    if schema is None:
        return problems
    try:
        import jsonschema
    except ImportError:
        return [Problem(str(MARKETPLACE), "cannot validate: the jsonschema package is not "
                                          "installed (pip install 'maestro[test]')")]
    validator = jsonschema.Draft202012Validator(schema)
    return [Problem(str(MARKETPLACE),
                    f"schema: {'.'.join(str(p) for p in error.absolute_path) or '(root)'}: "
                    f"{error.message}")
            for error in sorted(validator.iter_errors(document), key=lambda e: list(e.path))]


def check_marketplace(root: Path) -> list[Problem]:
    """Valid against its schema, and every listed path agrees with the files on disk."""
    document, problems = _load_json(root / MARKETPLACE, root)
    if document is None:
        return problems
    problems = _schema_problems(document, root)
    if problems:
        return problems
    shown = str(MARKETPLACE)
    for plugin in document["plugins"]:
        label = f"plugin {plugin['name']!r}"
        source = root / plugin["source"]["path"]
        if not source.is_dir():
            problems.append(Problem(shown, f"{label}: source {plugin['source']['path']!r} "
                                           "does not exist"))
            continue
        manifest, found = _load_json(root / plugin["manifest"], root)
        problems += found
        if isinstance(manifest, dict):
            for key in ("name", "version"):
                if manifest.get(key) != plugin[key]:
                    problems.append(Problem(_rel(root / plugin["manifest"], root),
                                            f"{key} {manifest.get(key)!r} differs from "
                                            f"{plugin[key]!r} in {shown}"))
        listed = set()
        for entry in plugin["skills"]:
            folder = (root / entry["path"]).resolve()
            listed.add(folder)
            if not (folder / "SKILL.md").is_file():
                problems.append(Problem(shown, f"{label}: skill {entry['name']!r}: "
                                               f"{entry['path']}/SKILL.md does not exist"))
            elif folder.name != entry["name"]:
                problems.append(Problem(shown, f"{label}: skill {entry['name']!r} points at "
                                               f"folder {folder.name!r}"))
        for folder in _subdirs(source / "skills"):
            if folder.resolve() not in listed:
                problems.append(Problem(shown, f"{label}: skill folder "
                                               f"{_rel(folder, root)} is not listed"))
        for entry in [*plugin.get("agents", []),
                      *([{"path": plugin["config_example"]}] if "config_example" in plugin
                        else [])]:
            if not (root / entry["path"]).is_file():
                problems.append(Problem(shown, f"{label}: {entry['path']} does not exist"))
    return problems


# -- everything -------------------------------------------------------------------------------


def agent_files(root: Path) -> list[Path]:
    folder = root / AGENTS_DIR
    return sorted(folder.glob("*.toml")) if folder.is_dir() else []


def check_installable(root: Path) -> list[Problem]:
    """What ``install`` copies: the skills and the agent roles."""
    problems = [] if skill_dirs(root) else [Problem(str(SKILLS_DIR), "no skills found")]
    for skill in skill_dirs(root):
        problems += check_skill(skill, root)
        problems += check_skill_json(skill, root)
    for path in agent_files(root):
        problems += check_agent(path, root)
    return problems


def check_all(root: Path, scripts: bool = True) -> list[Problem]:
    """Every check the smoke session runs, in a stable order."""
    problems = check_installable(root)
    if scripts:
        for skill in skill_dirs(root):
            problems += run_scripts(skill, root)
    problems += check_config_example(root)
    problems += check_marketplace(root)
    return problems


def replace_tree(source: Path, target: Path) -> None:
    """Copy ``source`` over ``target`` so a reader never sees half a skill."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        shutil.copytree(source, staging / "new",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        if target.exists():
            target.rename(staging / "old")
        (staging / "new").rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def install(codex_home: Path, root: Path | None = None) -> list[Path]:
    """Copy the skills and agent roles into ``codex_home``; returns what was written.

    Skills go to ``<codex_home>/skills/<name>/`` and roles to ``<codex_home>/agents/``,
    where Codex looks for user-scope assets. Running it again replaces maestro's copies and
    nothing else; ``config.toml`` is never touched (the example stays an example).
    """
    root = root or assets_root()
    problems = check_installable(root)
    if problems:
        raise AssetsError("refusing to install broken assets:\n" +
                          "\n".join(f"  {p}" for p in problems))
    written: list[Path] = []
    for skill in skill_dirs(root):
        target = codex_home / "skills" / skill.name
        replace_tree(skill, target)
        written.append(target)
    for role in agent_files(root):
        target = codex_home / "agents" / role.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(role, target)
        written.append(target)
    return written
