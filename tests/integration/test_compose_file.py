"""compose.yaml, the Dockerfile and .dockerignore read as data: the rules the stack relies on."""

from __future__ import annotations

import ast
import re
import shlex
import tomllib
from pathlib import Path

import pytest

from tests.support.compose import (
    REPO_ROOT,
    MissingVariable,
    Service,
    active_services,
    interpolate,
    load_compose,
    load_raw,
    start_order,
)

TOKEN = "unit-test-token-0123456789"
DOC = load_compose({"FOREWARN_API_TOKEN": TOKEN})
RAW = load_raw()
SERVICES = {name: Service.of(DOC, name) for name in DOC["services"]}
PYTHON_SERVICES = {name: s for name, s in SERVICES.items() if name != "mosquitto"}
LONG_RUNNING = {name: s for name, s in SERVICES.items() if not s.one_shot}
MQTT_CLIENTS = {name: s for name, s in PYTHON_SERVICES.items() if name != "init"}
DOCKERFILE = (REPO_ROOT / "Dockerfile").read_text()
VERSION = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
PACKAGES = (
    "contract",
    "common",
    "broker",
    "publisher",
    "inference_worker",
    "model",
    "training",
    "api",
    "telegram_bot",
    "webhooks",
)
# Procfile process (make up) -> the compose service that runs the same thing.
PROCFILE_TWINS = {
    "worker": "inference-worker",
    "api": "api",
    "slave1": "publisher-slave1",
    "slave2": "publisher-slave2",
    "sim1": "simulator",
    "turbofan1": "publisher-turbofan-1",
    "turbofan2": "publisher-turbofan-2",
    "bot": "telegram-bot",
    "webhooks": "webhooks",
}


def _documented_services() -> set[str]:
    """Names in the first column of every table headed `service` in README.md and docs/DOCKER.md."""
    names: set[str] = set()
    for doc in (REPO_ROOT / "README.md", REPO_ROOT / "docs" / "DOCKER.md"):
        if not doc.exists():
            continue
        in_table = False
        for line in doc.read_text().splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
            if cells and cells[0].lower() == "service":
                in_table = True
            elif not cells:
                in_table = False
            elif in_table:
                names.update(re.findall(r"`([a-z0-9-]+)`", cells[0]))
    return names


def test_every_documented_service_exists_and_every_service_is_documented() -> None:
    documented = _documented_services()
    assert documented, "no `| service |` table in README.md or docs/DOCKER.md"
    assert documented == set(SERVICES)


def test_make_up_and_compose_run_the_same_programs() -> None:
    procfile = dict(line.split(":", 1) for line in (REPO_ROOT / "Procfile").read_text().splitlines() if line)
    for process, service in PROCFILE_TWINS.items():
        words = shlex.split(procfile[process])
        words = words[1:] if words[0] == "exec" else words
        assert words[0].endswith("python"), process
        assert words[1] == "-m", process
        assert SERVICES[service].python_module() == (words[2], words[3:]), service


def test_the_broker_is_the_official_image_on_the_project_config() -> None:
    broker = SERVICES["mosquitto"]
    assert re.fullmatch(r"eclipse-mosquitto:2\.0\.\d+", broker.spec["image"])
    assert broker.command == ["mosquitto", "-c", "/mosquitto/config/mosquitto.conf"]
    config = next(m for m in broker.mounts if m.target == "/mosquitto/config/mosquitto.conf")
    assert (config.source, config.read_only) == ("./mosquitto.conf", True)
    targets = {m.target for m in broker.mounts if not m.is_bind}
    assert targets == {"/mosquitto/config", "/mosquitto/data"}
    assert "listener 8883" in (REPO_ROOT / "mosquitto.conf").read_text().splitlines()


def test_images_are_pinned() -> None:
    for name, service in SERVICES.items():
        image = service.spec["image"]
        assert re.fullmatch(r"[\w./-]+:\d+(\.\d+)+", image), f"{name}: {image} is not pinned to a version"
    for line in re.findall(r"(?m)^FROM\s+(\S+)", DOCKERFILE):
        assert re.fullmatch(r"[\w./-]+:\d+\.\d+\.\d+(-[\w.-]+)?", line), f"Dockerfile: FROM {line} is not pinned"


def test_one_python_image_built_from_the_dockerfile() -> None:
    images = {s.spec["image"] for s in PYTHON_SERVICES.values()}
    assert images == {f"forewarn:{VERSION}"}
    assert all(s.spec["build"]["context"] == "." for s in PYTHON_SERVICES.values())


def test_long_running_services_have_health_checks_and_restart() -> None:
    assert set(SERVICES) - set(LONG_RUNNING) == {"init"}
    for name, service in LONG_RUNNING.items():
        assert service.healthcheck_argv, f"{name} has no health check"
        assert service.spec["restart"] == "unless-stopped", name
    assert SERVICES["api"].healthcheck_argv == [
        "python",
        "docker/healthcheck.py",
        f"http://127.0.0.1:{SERVICES['api'].environment['FOREWARN_API_PORT']}/api/health",
    ]


def test_dependencies_wait_for_completion_or_health() -> None:
    for name, service in SERVICES.items():
        for dependency, condition in service.depends_on.items():
            expected = "service_completed_successfully" if SERVICES[dependency].one_shot else "service_healthy"
            assert condition == expected, f"{name} -> {dependency}"
    for name, service in MQTT_CLIENTS.items():
        assert service.depends_on.get("mosquitto") == "service_healthy", name
    publishers = [n for n, s in SERVICES.items() if (s.python_module() or ("",))[0] == "publisher"]
    for name in publishers:  # a reading published before anyone subscribed would be dropped
        assert {"inference-worker", "api"} <= set(SERVICES[name].depends_on), name
    assert start_order(DOC, active_services(DOC))[:2] == ["init", "mosquitto"]


def test_no_host_path_outside_the_repository_is_mounted() -> None:
    for name, service in SERVICES.items():
        for mount in service.mounts:
            if mount.is_bind:
                assert mount.source.startswith("./"), f"{name}: {mount.source}"
                assert (REPO_ROOT / mount.source).resolve().is_relative_to(REPO_ROOT), name
                assert mount.read_only, f"{name}: binds of repository files are read-only"
            else:
                assert mount.source in DOC["volumes"], f"{name}: undeclared volume {mount.source}"


def _reads_environment(path: Path) -> dict[str, bool]:
    """{variable: has a default} for each setting a config module reads."""
    readers = {
        "env_str",
        "env_int",
        "env_float",
        "env_path",
        "env_secret",
        "_optional_secret",
        "_env_bool",
        "_http_url",
        "get",
    }
    found: dict[str, bool] = {}
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Call) or not node.args or not isinstance(node.args[0], ast.Constant):
            continue
        func = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        name = node.args[0].value
        if func in readers and isinstance(name, str) and name.startswith(("FOREWARN_", "TELEGRAM_")):
            found[name] = func == "_optional_secret" or len(node.args) > 1 or bool(node.keywords)
    return found


def _config_modules(service: Service) -> list[Path]:
    modules = [service.python_module()[0]] if service.python_module() else []  # type: ignore[index]
    if "docker/init.sh" in service.command:
        modules = re.findall(r"python -m (\w+)", (REPO_ROOT / "docker" / "init.sh").read_text())
    return [REPO_ROOT / module / "config.py" for module in modules]


@pytest.mark.parametrize("name", sorted(PYTHON_SERVICES))
def test_settings_without_a_default_are_set(name: str) -> None:
    service = SERVICES[name]
    modules = _config_modules(service)
    assert modules, f"{name}: no config module found"
    for module in modules:
        for variable, has_default in _reads_environment(module).items():
            if not has_default:
                assert variable in service.environment, f"{name}: {variable} ({module.parent.name}) is not set"


@pytest.mark.parametrize("name", sorted(PYTHON_SERVICES))
def test_every_state_path_is_a_volume(name: str) -> None:
    """The defaults are for a local run (var/ in the repository): in a container they must land in volumes."""
    service = SERVICES[name]
    env = service.environment
    var_dir = env["FOREWARN_VAR_DIR"]
    mounts = {m.target: m for m in service.mounts}
    writes = {
        "init": ["broker/config", "secrets", "models"],
        "api": ["api", "models"],  # models: Promote and Roll back move its pointers
        "telegram-bot": ["telegram_bot"],
        "webhooks": ["webhooks"],
    }
    if (service.python_module() or ("",))[0] == "publisher":
        writes[name] = ["outbox"]
    for folder in writes.get(name, []):
        assert f"{var_dir}/{folder}" in mounts, f"{name}: {folder} is not a volume"
        assert not mounts[f"{var_dir}/{folder}"].read_only, f"{name}: {folder} is read-only"
    if name in MQTT_CLIENTS:
        assert env["FOREWARN_MQTT_HOST"] == "mosquitto"
        assert env["FOREWARN_MQTT_PORT"] == "8883"
        assert f"{var_dir}/secrets" in mounts, f"{name}: its password file is not mounted"
        assert Path(env["FOREWARN_MQTT_CA"]).parent.as_posix() in mounts, f"{name}: the CA is not mounted"
    if "FOREWARN_MODELS_DIR" in env:
        assert env["FOREWARN_MODELS_DIR"] in mounts


def test_every_variable_set_is_one_something_reads() -> None:
    """Catches a misspelt setting, which the services would silently ignore."""
    sources = [p for package in (*PACKAGES, "docker") for p in (REPO_ROOT / package).glob("*.py")]
    sources.append(REPO_ROOT / "docker" / "init.sh")
    known = {match for path in sources for match in re.findall(r"\b(?:FOREWARN|TELEGRAM)_[A-Z0-9_]+", path.read_text())}
    for name, service in SERVICES.items():
        unknown = {v for v in service.environment if v.startswith(("FOREWARN_", "TELEGRAM_"))} - known
        assert not unknown, f"{name}: {unknown}"


def test_only_init_and_the_api_write_the_models() -> None:
    """init trains the first model, the API's Promote and Roll back move its pointers; the workers only read."""
    writers = sorted(
        name
        for name, service in SERVICES.items()
        for mount in service.mounts
        if mount.source == "models" and not mount.read_only
    )
    readers = sorted(name for name, service in SERVICES.items() for mount in service.mounts if mount.source == "models")
    assert writers == ["api", "init"]
    assert "inference-worker" in readers


def test_each_service_mounts_only_its_own_secrets() -> None:
    """A service's secrets folder is a volume of its own, read-only; init's, holding them all, is init's alone."""
    init = SERVICES["init"]
    init_mounts = {m.source: m.target for m in init.mounts}
    var_dir = init.environment["FOREWARN_VAR_DIR"]
    assert init_mounts["credentials"] == f"{var_dir}/secrets"
    for name, service in MQTT_CLIENTS.items():
        secrets = next(m for m in service.mounts if m.target == f"{service.environment['FOREWARN_VAR_DIR']}/secrets")
        assert secrets.source == f"secrets-{name}", name
        assert secrets.read_only, name
        assert init_mounts[secrets.source] == f"{var_dir}/service-secrets/{name}", name  # init fills it
    for volume in ["credentials", *(f"secrets-{name}" for name in MQTT_CLIENTS)]:
        users = sorted(name for name, service in SERVICES.items() if volume in {m.source for m in service.mounts})
        expected = ["init"] if volume == "credentials" else sorted(["init", volume.removeprefix("secrets-")])
        assert users == expected, volume
    assert "secrets-mosquitto" not in DOC["volumes"]  # the broker's health password is in its own config


def test_secrets_come_from_the_environment_never_from_the_file() -> None:
    for name, spec in RAW["services"].items():
        for variable, value in (spec.get("environment") or {}).items():
            if re.search(r"TOKEN|PASSWORD|SECRET", variable) and not variable.endswith("_FILE"):
                assert re.fullmatch(r"\$\{" + variable + r":[?-][^}]*\}", str(value)), f"{name}: {variable}"
    # No secret has to be typed in: init generates the API token unless the operator sets one.
    api_env = RAW["services"]["api"]["environment"]
    assert api_env["FOREWARN_API_TOKEN"] == "${FOREWARN_API_TOKEN:-}"
    assert api_env["FOREWARN_API_TOKEN_FILE"] == "/var/lib/forewarn/secrets/api.token"
    assert "api.token" in (REPO_ROOT / "docker" / "init.sh").read_text()
    assert load_compose({})["services"]["api"]["environment"]["FOREWARN_API_TOKEN"] == ""


def test_the_bot_token_is_asked_for_only_in_the_telegram_profile() -> None:
    users = [name for name, spec in RAW["services"].items() if "TELEGRAM_BOT_TOKEN" in str(spec)]
    assert users == ["telegram-bot"]
    assert SERVICES["telegram-bot"].profiles == ["telegram"]
    assert "telegram-bot" not in active_services(DOC)
    assert "telegram-bot" in active_services(DOC, ("telegram",))
    assert 'test -n "${TELEGRAM_BOT_TOKEN}"' in SERVICES["telegram-bot"].command[2]


def test_no_secret_in_the_image() -> None:
    for line in re.findall(r"(?m)^(?:ENV|ARG)\s+(.*)$", DOCKERFILE):
        assert not re.search(r"TOKEN|PASSWORD|SECRET|KEY", line, re.IGNORECASE), line
    ignored = (REPO_ROOT / ".dockerignore").read_text().splitlines()
    assert {".env", "var/", ".git", ".venv/"} <= set(ignored)


def test_nothing_runs_as_root() -> None:
    stages = DOCKERFILE.split("\nFROM ")
    users = re.findall(r"(?m)^USER\s+(\S+)", stages[-1])
    assert users
    assert users[-1] not in ("root", "0")
    uid = re.search(r"ARG FOREWARN_UID=(\d+)", DOCKERFILE)
    assert uid is not None
    # The broker runs as the same non-root uid, so it reads what init wrote (mode 0600).
    assert SERVICES["mosquitto"].spec["user"] == f"{uid[1]}:{uid[1]}"
    assert all("user" not in s.spec or not s.spec["user"].startswith("0") for s in SERVICES.values())


def test_the_image_holds_every_program_compose_runs() -> None:
    copied = set(re.findall(r"(?m)^COPY\s+(?:--\S+\s+)*(\S+?)/?\s", DOCKERFILE))
    modules = {m[0] for s in PYTHON_SERVICES.values() if (m := s.python_module())}
    modules |= set(re.findall(r"python -m (\w+)", (REPO_ROOT / "docker" / "init.sh").read_text()))
    assert modules <= copied
    assert {"docker", "data", "mosquitto.conf", *PACKAGES} <= copied
    assert "COPY --from=dashboard /build/dashboard/dist/ dashboard/dist/" in DOCKERFILE
    for service in PYTHON_SERVICES.values():
        for word in service.command:
            if word.startswith(("docker/", "data/")):
                assert (REPO_ROOT / word).is_file(), word


def test_workers_can_be_scaled() -> None:
    worker = SERVICES["inference-worker"]
    for pinned in ("container_name", "hostname", "ports"):
        assert pinned not in worker.spec, f"a fixed {pinned} stops --scale"
    # One id for all replicas would make them take over each other's MQTT session.
    assert "FOREWARN_WORKER_ID" not in worker.environment
    assert worker.command[:2] == ["python", "docker/replica_id.py"]


@pytest.mark.parametrize(
    ("text", "environ", "expected"),
    [
        ("${A:-x}", {}, "x"),
        ("${A:-x}", {"A": ""}, "x"),
        ("${A-x}", {"A": ""}, ""),
        ("${A:-x}", {"A": "y"}, "y"),
        ("$${A} $$", {"A": "y"}, "${A} $"),
        ("a ${B}b $C", {"B": "1", "C": "2"}, "a 1b 2"),
    ],
)
def test_interpolation_follows_compose(text: str, environ: dict[str, str], expected: str) -> None:
    assert interpolate(text, environ) == expected


def test_a_missing_required_variable_names_itself() -> None:
    with pytest.raises(MissingVariable, match="required variable T is missing a value: set T please"):
        interpolate("${T:?set T please}", {"T": ""})
