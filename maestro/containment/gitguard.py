"""The environment of maestro's own git processes: they never run what the agent can change.

The agent writes freely inside its worktree and, as the same OS user, into the repository's
git dir: hooks, ``config``, ``config.worktree``, ``info/attributes``. Any of those can name a
program git would run — a hook, ``core.fsmonitor``, ``core.sshCommand``, a
``credential.helper``, a filter, diff or merge driver. maestro's git (which may hold the forge
token for one push) therefore runs with:

* no system or global config (``GIT_CONFIG_NOSYSTEM``, ``GIT_CONFIG_GLOBAL=/dev/null``); the
  operator's identity is read once, outside any repository, and passed as ``GIT_AUTHOR_*``;
* command-line-scope overrides (``GIT_CONFIG_COUNT``/``KEY``/``VALUE``, which outrank every
  config file) for every key that names a program: hooks point at a folder that cannot exist,
  ``core.fsmonitor`` is off, helpers are cleared, and each ``filter.*``, ``diff.*`` and
  ``merge.*`` driver the repository's config names (read with ``git config --list``, which
  runs nothing, and reused only while its source files keep their bytes) is neutralised;
* only the protocols ``file``, ``http(s)`` and ``ssh`` (``ext::`` and friends are refused);
* an allow-listed environment: what git needs to reach a remote, never a tracker or model key.

:func:`git_env` is the one place that builds it; every git call maestro makes goes through it.
"""

from __future__ import annotations

import functools
import os
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path

from maestro.containment import config_listing
from maestro.containment.exec_path import maestros_path
from maestro.containment.git_ceiling import ceiling_for

#: Hooks are looked up here; nothing can ever be created below ``/dev/null``.
NO_HOOKS = "/dev/null/maestro-no-hooks"

#: The graft file maestro's git reads: one that cannot exist, so no grafts.
NO_GRAFTS = "/dev/null/maestro-no-grafts"

#: Overrides that hold for every repository.
FIXED_OVERRIDES: tuple[tuple[str, str], ...] = (
    ("core.hooksPath", NO_HOOKS),
    ("core.fsmonitor", "false"),
    ("core.sshCommand", "ssh"),
    ("core.askPass", ""),
    ("core.gitProxy", ""),
    ("core.pager", "cat"),
    # git reads ~/.config/git/attributes by default even with the global config off, and the
    # home folder is the agent's to write: a `merge=union` there turned conflicts into merges.
    ("core.attributesFile", os.devnull),
    # Run (through the shell) to list an alternate object store's refs, when the repository
    # has one (``objects/info/alternates``, which the agent can write without the sandbox).
    ("core.alternateRefsCommand", "true"),
    ("credential.helper", ""),
    ("diff.external", ""),
    ("commit.gpgSign", "false"),
    # A lane branch made from a remote-tracking ref would get branch.* tracking entries in
    # the shared config: a write to a control file that other lanes' sessions would see.
    ("branch.autoSetupMerge", "false"),
    ("tag.gpgSign", "false"),
    # A nested repository (a gitlink the agent committed, or any folder with its own .git)
    # has its own config, whose drivers the overrides below never see: maestro's git never
    # looks inside one (status and diff, fetch, push, checkout and merge alike).
    ("diff.ignoreSubmodules", "all"),
    ("submodule.recurse", "false"),
    ("fetch.recurseSubmodules", "false"),
    ("push.recurseSubmodules", "no"),
    ("status.submoduleSummary", "false"),
    ("protocol.allow", "never"),
    ("protocol.file.allow", "always"),
    ("protocol.http.allow", "always"),
    ("protocol.https.allow", "always"),
    ("protocol.ssh.allow", "always"),
)

#: ``section.<name>.key`` entries that name a program, and the value that disarms each.
#: A disarmed merge driver fails (a conflict for a person), never a silent wrong merge.
DRIVER_OVERRIDES: dict[tuple[str, str], str] = {
    ("filter", "clean"): "",
    ("filter", "smudge"): "",
    ("filter", "process"): "",
    ("filter", "required"): "false",
    ("diff", "command"): "",
    ("diff", "textconv"): "",
    ("merge", "driver"): "exit 1",
    ("credential", "helper"): "",
    # ``remote.<name>.receivepack``/``uploadpack`` name the program run on the other end; for
    # a remote on this machine that is a local program run by maestro's own push or fetch.
    ("remote", "receivepack"): "git-receive-pack",
    ("remote", "uploadpack"): "git-upload-pack",
}

#: The program maestro's push runs in a local ``origin`` (``git push --receive-pack``): git
#: hands a local remote's receive-pack none of the ``GIT_CONFIG_*`` overrides above, so the
#: one key of ``origin``'s own config that names a program besides its hooks (the server
#: side's policy) is overridden on its command line. ``receive.autogc`` is off there too:
#: receive-pack would start ``git gc --auto`` after every push, and maestro runs it on
#: ``origin`` itself after each local merge (:meth:`maestro.forges.local.LocalForge.merge`).
LOCAL_RECEIVE_PACK = ("git -c core.alternateRefsCommand=true -c receive.autogc=false "
                      "receive-pack")

#: What maestro's git may see of maestro's environment (exact names, then prefixes).
GIT_ENV_NAMES = frozenset({
    "PATH", "HOME", "TMPDIR", "USER", "LOGNAME", "LANG", "LANGUAGE", "TERM", "TZ",
    "SSH_AUTH_SOCK", "SSH_AGENT_PID", "GIT_SSH", "GIT_SSH_COMMAND", "GIT_SSH_VARIANT",
    "GIT_SSL_CAINFO", "GIT_SSL_CAPATH", "GIT_SSL_NO_VERIFY", "SSL_CERT_FILE", "SSL_CERT_DIR",
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY",
    "http_proxy", "https_proxy", "no_proxy", "all_proxy",
    "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL",
    "GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE",
})
GIT_ENV_PREFIXES = ("LC_", "GIT_TRACE")

NEUTRAL_IDENTITY = {"name": "maestro", "email": "maestro@localhost"}


#: What locates the operator's own git config, besides :data:`GIT_ENV_NAMES`.
CONFIG_LOCATION_NAMES = ("XDG_CONFIG_HOME", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM",
                         "GIT_CONFIG_NOSYSTEM")


def _identity_lookup_env() -> dict[str, str]:
    """The environment of the identity lookup: the allow list plus what locates the
    operator's config, never a token (git is an ordinary, dumpable process: a same-user
    program can read its ``/proc/<pid>/environ`` while it runs)."""
    env = {k: v for k, v in os.environ.items() if allowed(k) or k in CONFIG_LOCATION_NAMES}
    return {**env, "PATH": maestros_path(env.get("PATH")), "GIT_CONFIG_PARAMETERS": "",
            "GIT_CONFIG_COUNT": "0"}


@functools.cache
def operator_identity() -> dict[str, str]:
    """``{"name", "email"}``: the operator's git identity, read once from their own system
    and global config (outside any repository, so no repository can choose it), else a
    neutral one, so commits work on a fresh CI runner."""
    try:  # both keys in one process; a key set twice counts as ``git config --get`` does
        proc = subprocess.run(["git", "config", "--null", "--get-regexp",
                               r"^user\.(name|email)$"], cwd="/", capture_output=True,
                              text=True, errors="replace", check=False,
                              env=_identity_lookup_env())
    except OSError:
        return dict(NEUTRAL_IDENTITY)
    found = last_values(proc.stdout) if proc.returncode == 0 else {}
    found = {key: value for key, value in found.items() if value}
    return found if len(found) == 2 else dict(NEUTRAL_IDENTITY)


def last_values(listing: str) -> dict[str, str]:
    r"""``{"name", "email"}`` from ``git config --null --get-regexp`` output for the two
    user keys (``key\nvalue\0`` records): the last value of each, stripped, as ``git config
    --get`` answers for a key set more than once. Pure."""
    found: dict[str, str] = {}
    for record in listing.split("\0"):
        key, _, value = record.partition("\n")
        if key in ("user.name", "user.email"):
            found[key.removeprefix("user.")] = value.strip()
    return found


def identity_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``GIT_AUTHOR_*``/``GIT_COMMITTER_*``: those already in ``base`` (the operator set them),
    else the operator's configured identity; so a moved ``HOME`` never breaks a commit."""
    source = os.environ if base is None else base
    ident = operator_identity()
    env: dict[str, str] = {}
    for role in ("AUTHOR", "COMMITTER"):
        env[f"GIT_{role}_NAME"] = source.get(f"GIT_{role}_NAME") or ident["name"]
        env[f"GIT_{role}_EMAIL"] = source.get(f"GIT_{role}_EMAIL") or ident["email"]
    return env


def allowed(name: str) -> bool:
    return name in GIT_ENV_NAMES or name.startswith(GIT_ENV_PREFIXES)


#: The last :func:`base_env`, with the raw process environment and the operator identity
#: it was built from.
_BASE: tuple[dict[bytes, bytes], dict[str, str], dict[str, str]] | None = None


def base_env() -> dict[str, str]:
    """maestro's environment cut to what git needs, with config isolation on, and a
    ``PATH`` of no folder an agent can write
    (:func:`~maestro.containment.exec_path.maestros_path`: git runs in worktrees the agent
    writes, and starts programs of its own). A fresh dict each call.

    Built again only when the process environment or the operator's identity changed
    (a warm lane forgets the identity its zygote read): it is a function of both, and is
    asked before every git call, where filtering the environment was 70 µs of 90."""
    global _BASE
    raw: object = getattr(os.environ, "_data", None)  # CPython's bytes mapping under it
    ident = operator_identity()
    if (isinstance(raw, dict) and _BASE is not None and _BASE[0] == raw
            and _BASE[1] == ident):
        return dict(_BASE[2])
    env = _built_base_env()
    if isinstance(raw, dict):
        _BASE = (dict(raw), dict(ident), dict(env))
    return env


def _built_base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if allowed(k)}
    env["PATH"] = maestros_path(env.get("PATH"))
    env.update(identity_env())
    # GIT_NO_REPLACE_OBJECTS: refs/replace/ is writable by the agent (the shared git dir), and
    # a replacement would make maestro's own checks (provenance, lost files) read another
    # commit or tree than the one it pushes. GIT_GRAFT_FILE: the deprecated info/grafts
    # does the same to a commit's parents (``GIT_NO_REPLACE_OBJECTS`` leaves it on); a
    # path that cannot exist reads as no grafts, where /dev/null would print git's
    # deprecation hint on every call.
    # LC_ALL=C: git's messages maestro relays read in one language, as maestro's own do,
    # and git loads no locale or message catalogue (0.35 ms of CPU a process under
    # C.UTF-8, about seventy processes a lane: docs/performance.md). Nothing maestro
    # reads from git depends on it: paths come raw (``-z``) or quoted by ``core.quotePath``
    # alike, and log output keeps its UTF-8 (``i18n.logOutputEncoding``, not the locale).
    env.update({"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
                "GIT_NO_REPLACE_OBJECTS": "1", "GIT_GRAFT_FILE": NO_GRAFTS, "LC_ALL": "C",
                "GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat", "GIT_EDITOR": "true",
                "GIT_ASKPASS": "", "SSH_ASKPASS": ""})
    return env


def driver_overrides(keys: Iterable[str]) -> list[tuple[str, str]]:
    """For config key names (as ``git config --name-only --list`` prints them), the
    overrides that disarm every driver they define. Pure; section and key are matched
    case-insensitively as git does, the middle part is kept verbatim."""
    out: list[tuple[str, str]] = []
    seen: set[tuple[str, str, str]] = set()
    for key in keys:
        section, dot, rest = key.partition(".")
        middle, dot2, leaf = rest.rpartition(".")
        if not dot or not dot2 or not middle:
            continue
        section, leaf = section.lower(), leaf.lower()
        names = [(section, middle, leaf)]
        if section == "filter":  # one key names a driver: disarm all of its programs
            names = [("filter", middle, k) for k in ("clean", "smudge", "process", "required")]
        for sec, mid, lf in names:
            value = DRIVER_OVERRIDES.get((sec, lf))
            if value is not None and (sec, mid, lf) not in seen:
                seen.add((sec, mid, lf))
                out.append((f"{sec}.{mid}.{lf}", value))
    return out


def config_keys(cwd: Path, base: Mapping[str, str] | None = None) -> list[str]:
    """The config key names git sees in ``cwd`` with system and global config off; listed by
    git (which runs nothing) and reused while the files it came from keep their bytes
    (:mod:`maestro.containment.config_listing` says why that is safe). ``base``: a
    :func:`base_env` the caller just built (else one is built here)."""
    env = {**(base_env() if base is None else base), "GIT_CONFIG_COUNT": "0"}
    return config_listing.config_keys(cwd, env)


def with_config(env: dict[str, str], pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Append ``pairs`` as command-line-scope config after any ``GIT_CONFIG_*`` in ``env``."""
    count = int(env.get("GIT_CONFIG_COUNT", "0") or 0)
    for key, value in pairs:
        env[f"GIT_CONFIG_KEY_{count}"] = key
        env[f"GIT_CONFIG_VALUE_{count}"] = value
        count += 1
    env["GIT_CONFIG_COUNT"] = str(count)
    return env


def git_env(cwd: Path | None = None, extra: Iterable[tuple[str, str]] = ()) -> dict[str, str]:
    """The whole environment of one maestro git process run in ``cwd``: allow-listed,
    isolated from system/global config, every program-naming key disarmed, then ``extra``
    (e.g. the forge token's auth header for one push)."""
    env = base_env()  # one per call: the config listing below runs in the same one
    env["GIT_CONFIG_COUNT"] = "0"
    pairs = list(FIXED_OVERRIDES)
    if cwd is not None:
        ceiling = ceiling_for(cwd)  # in a lane's worktree: never walk up out of it
        if ceiling is not None:
            env["GIT_CEILING_DIRECTORIES"] = ceiling
        pairs += driver_overrides(config_keys(cwd, env))
    return with_config(env, [*pairs, *extra])

