"""The deployment files are well-formed and agree with the code they run."""

from __future__ import annotations

import configparser
import re
import shlex
import subprocess
from pathlib import Path

import yaml

from node.interfaces.cli.main import build_parser

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"

# DESIGN.md §5 names `worker`; it may land after these files. Any other name must exist.
PINNED_NOT_YET_BUILT = {"worker"}
KNOWN_IMAGES = {"postgres", "caddy"}


def _subcommands() -> set[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")  # the subparsers
    return set(action.choices)


def _compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def _as_argv(command: object) -> list[str]:
    if isinstance(command, str):
        return shlex.split(command)
    assert isinstance(command, list) and all(isinstance(c, str) for c in command), command
    return command


def test_compose_services_run_real_commands_or_known_images():
    compose = _compose()
    services = compose["services"]
    assert {"node", "worker", "postgres", "caddy"} <= set(services)
    known = _subcommands() | PINNED_NOT_YET_BUILT
    for name, service in services.items():
        if "command" in service:
            argv = _as_argv(service["command"])
            assert argv[0] == "chapterhouse", f"{name}: {argv}"
            assert argv[1] in known, f"{name} runs `chapterhouse {argv[1]}`, which does not exist"
            assert argv[argv.index("--data") + 1] == "/data"
        else:
            image = service["image"].split(":")[0]
            assert image in KNOWN_IMAGES, (
                f"{name} has neither a chapterhouse command nor a known image"
            )
    assert _as_argv(services["node"]["command"])[1] == "serve"
    assert _as_argv(services["worker"]["command"])[1] == "worker"


def test_compose_wires_postgres_caddy_and_the_data_volume():
    compose = _compose()
    services = compose["services"]
    for name in ("node", "worker"):
        service = services[name]
        assert service["build"]["dockerfile"] == "deploy/Dockerfile"
        assert (DEPLOY / service["build"]["context"] / service["build"]["dockerfile"]).is_file()
        assert "data:/data" in service["volumes"]
        url = service["environment"]["DATABASE_URL"]
        assert url.startswith("postgresql+asyncpg://") and "@postgres:5432/" in url
        assert service["environment"]["CHAPTERHOUSE_BASE_URL"].startswith("https://")
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
    postgres = services["postgres"]
    assert postgres["image"] == "postgres:16"
    assert "pg_isready" in " ".join(_as_argv(postgres["healthcheck"]["test"]))
    assert any(v.endswith(":/var/lib/postgresql/data") for v in postgres["volumes"])
    caddy = services["caddy"]
    assert caddy["image"] == "caddy:2"
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in caddy["volumes"]
    assert {"80:80", "443:443"} <= set(caddy["ports"])
    assert caddy["environment"]["CHAPTERHOUSE_UPSTREAM"] == "node:8080"
    assert {"data", "postgres", "caddy_data"} <= set(compose["volumes"])


def test_systemd_unit_runs_chapterhouse_serve():
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # systemd keys are case-sensitive
    unit.read_string((DEPLOY / "chapterhouse.service").read_text())
    assert {"Unit", "Service", "Install"} <= set(unit.sections())
    argv = shlex.split(unit["Service"]["ExecStart"])
    assert Path(argv[0]).name == "chapterhouse"
    assert argv[1] == "serve" and argv[1] in _subcommands()
    data = argv[argv.index("--data") + 1]
    assert unit["Service"]["User"] != "root"
    assert data in unit["Service"]["ReadWritePaths"].split()
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_entrypoint_is_valid_sh_and_initialises_then_serves():
    script = DEPLOY / "entrypoint.sh"
    subprocess.run(["sh", "-n", str(script)], check=True)
    text = script.read_text()
    assert text.startswith("#!/bin/sh\n")
    assert script.stat().st_mode & 0o111, "entrypoint.sh must be executable"
    assert 'chapterhouse init --data "$DATA" --base-url "$CHAPTERHOUSE_BASE_URL"' in text
    assert "chapterhouse serve --data" in text and "--host 0.0.0.0" in text
    assert 'exec "$@"' in text


def test_entrypoint_initialises_once_and_passes_other_commands_through(tmp_path):
    """Run the entrypoint with a stub `chapterhouse` that records its arguments."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls"
    stub = bin_dir / "chapterhouse"
    stub.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> "{log}"\n'
        'if [ "$1" = init ]; then echo "base_url = \\"x\\"" > "$3/chapterhouse.toml"; fi\n'
    )
    stub.chmod(0o755)
    data = tmp_path / "data"
    data.mkdir()
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "CHAPTERHOUSE_DATA": str(data)}

    def run(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["sh", str(DEPLOY / "entrypoint.sh"), *args],
            env={**env, **extra},
            capture_output=True,
            text=True,
            check=False,
        )

    missing = run()
    assert missing.returncode == 1 and "CHAPTERHOUSE_BASE_URL" in missing.stderr
    assert not log.exists()
    first = run(CHAPTERHOUSE_BASE_URL="https://chapter.example.org")
    assert first.returncode == 0, first.stderr
    assert log.read_text().splitlines() == [
        f"init --data {data} --base-url https://chapter.example.org",
        f"serve --data {data} --host 0.0.0.0",
    ]
    log.unlink()
    assert run("chapterhouse", "serve", "--data", str(data), "--host", "0.0.0.0").returncode == 0
    assert log.read_text().splitlines() == [f"serve --data {data} --host 0.0.0.0"]  # no second init
    log.unlink()
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    assert (
        run("chapterhouse", "worker", "--data", str(fresh), CHAPTERHOUSE_DATA=str(fresh)).returncode
        == 0
    )
    assert log.read_text().splitlines() == [f"worker --data {fresh}"]  # never initialises


def _dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (DEPLOY / "Dockerfile").read_text())
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, rest = line.partition(" ")
            pairs.append((instruction.upper(), rest.strip()))
    return pairs


def test_dockerfile_runs_the_entrypoint_as_a_non_root_user():
    pairs = _dockerfile()
    assert pairs[0] == ("FROM", "python:3.11-slim")
    copies = {}
    for instruction, rest in pairs:
        if instruction == "COPY":
            *sources, target = [a for a in shlex.split(rest) if not a.startswith("--")]
            for source in sources:
                assert (REPO / source).exists(), f"COPY {source}: no such file in the repository"
                copies[target] = source
    (entrypoint,) = [yaml.safe_load(rest) for i, rest in pairs if i == "ENTRYPOINT"]
    assert copies[entrypoint[0]] == "deploy/entrypoint.sh"
    users = [rest for i, rest in pairs if i == "USER"]
    assert users and users[-1] not in {"root", "0"}
    assert any(i == "RUN" and "useradd" in rest and users[-1] in rest for i, rest in pairs)
    (healthcheck,) = [rest for i, rest in pairs if i == "HEALTHCHECK"]
    assert "/healthz" in healthcheck and "urllib" in healthcheck
    (cmd,) = [yaml.safe_load(rest) for i, rest in pairs if i == "CMD"]
    assert cmd[:2] == ["chapterhouse", "serve"] and "0.0.0.0" in cmd
    assert any(i == "RUN" and "pip install ." in rest for i, rest in pairs)


def test_proxies_pass_the_original_host_and_forwarded_headers():
    caddy = (DEPLOY / "Caddyfile").read_text()
    code = [line.split("#")[0] for line in caddy.splitlines()]
    directives = [line.split() for line in code if line.strip()]
    assert ["{$CHAPTERHOUSE_DOMAIN}", "{"] in directives
    assert ["reverse_proxy", "{$CHAPTERHOUSE_UPSTREAM:127.0.0.1:8080}", "{"] in directives
    assert ["header_up", "Host", "{host}"] in directives
    assert "X-Forwarded-For" in caddy and "X-Forwarded-Proto" in caddy  # documented defaults

    nginx = (DEPLOY / "nginx.conf").read_text()
    statements = {
        " ".join(s.split())
        for s in re.sub(r"#[^\n]*", "", nginx).replace("{", ";").replace("}", ";").split(";")
    }
    assert "proxy_set_header Host $host" in statements
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for" in statements
    assert "proxy_set_header X-Forwarded-Proto $scheme" in statements
    assert "proxy_pass http://chapterhouse" in statements
    assert nginx.count("{") == nginx.count("}")
