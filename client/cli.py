"""layerloom: upload data, create architectures, train, follow and download from the shell.

    layerloom login --url http://127.0.0.1:8000 --username alice
    layerloom upload iris.csv --kind tabular --option target_column=species --wait
    layerloom architecture create mlp.json
    layerloom train --architecture 3 --dataset 7 --framework torch --hp epochs=20 --follow
    layerloom download 12 --kind onnx
    layerloom logout

The server URL and token come from --url/--token (before or after the command), then
LAYERLOOM_URL/LAYERLOOM_TOKEN, then the file `login` writes (~/.config/layerloom/config.json,
or $LAYERLOOM_CONFIG).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path
from typing import Any

from client.api import ApiError, Client


def config_path() -> Path:
    default = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "layerloom" / "config.json"
    return Path(os.environ.get("LAYERLOOM_CONFIG", default))


def load_config() -> dict[str, str]:
    try:
        return dict(json.loads(config_path().read_text()))
    except (OSError, ValueError):
        return {}


def save_config(config: dict[str, str]) -> None:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)  # the token is a password: owner-only
    path.write_text(json.dumps(config, indent=2))


def parse_value(text: str) -> Any:
    """key=value options: JSON when it parses (numbers, lists, true), else the plain string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def pairs(items: list[str] | None, flag: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"{flag} expects key=value, got {item!r}")
        out[key] = parse_value(value)
    return out


def emit(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def make_client(args: argparse.Namespace, need_token: bool = True) -> Client:
    config = load_config()
    url = args.url or os.environ.get("LAYERLOOM_URL") or config.get("url") or "http://127.0.0.1:8000"
    token = args.token or os.environ.get("LAYERLOOM_TOKEN") or config.get("token")
    if need_token and not token:
        raise SystemExit("Not logged in: run `layerloom login` or set LAYERLOOM_TOKEN.")
    return Client(url, token)


# --- commands -------------------------------------------------------------------------


def cmd_login(args: argparse.Namespace) -> None:
    client = make_client(args, need_token=False)
    password = args.password or os.environ.get("LAYERLOOM_PASSWORD") or getpass.getpass("Password: ")
    token = client.login(args.username, password)
    save_config({"url": client.url, "token": token})
    print(f"Logged in to {client.url} as {args.username}; token saved in {config_path()}.")


def cmd_logout(args: argparse.Namespace) -> None:
    client = make_client(args)
    client.logout()
    config = load_config()
    config.pop("token", None)
    save_config(config)
    print(f"Logged out of {client.url}; the token is revoked.")


def cmd_upload(args: argparse.Namespace) -> None:
    from tqdm import tqdm

    client = make_client(args)
    path = Path(args.file)
    if not path.is_file():
        raise SystemExit(f"No such file: {path}")
    options = json.loads(args.options) if args.options else {}
    options.update(pairs(args.option, "--option"))
    with tqdm(total=path.stat().st_size, unit="B", unit_scale=True, unit_divisor=1024, desc=path.name,
              file=sys.stderr, disable=args.quiet) as bar:  # fmt: skip
        dataset = client.upload_dataset(path, args.kind, args.name, options, on_progress=bar.update)
    if args.wait:
        dataset = client.wait_dataset(dataset["id"])
    emit(dataset)
    if dataset["status"] == "failed":
        raise SystemExit(f"Ingestion failed: {dataset['error']}")


def cmd_datasets(args: argparse.Namespace) -> None:
    client = make_client(args)
    emit(client.request("GET", f"datasets/{args.id}/") if args.id else client.request("GET", "datasets/")["results"])


def cmd_architecture(args: argparse.Namespace) -> None:
    client = make_client(args)
    if args.action == "list":
        emit(client.request("GET", "architectures/")["results"])
        return
    spec = json.loads(Path(args.spec).read_text())
    if args.action == "validate":
        emit(client.request("POST", "architectures/validate/", json={"spec": spec, "batch_size": args.batch_size}))
    else:
        emit(client.create_architecture(spec, args.name))


def cmd_train(args: argparse.Namespace) -> None:
    client = make_client(args)
    spec = json.loads(Path(args.spec).read_text()) if args.spec else None
    job = client.start_job(args.dataset, args.framework, args.architecture, spec, pairs(args.hp, "--hp"))
    if not args.follow:
        emit(job)
        return
    print(f"Job {job['id']} queued.", file=sys.stderr)
    follow(client, job["id"])


def follow(client: Client, job_id: int) -> None:
    def show(row: dict[str, Any]) -> None:
        values = "  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row["values"].items())
        print(f"epoch {row['epoch']}: {values}", file=sys.stderr)

    job = client.follow_job(job_id, on_metric=show)
    emit(job)
    if job["status"] != "succeeded":
        raise SystemExit(f"Job {job_id} {job['status']}: {job.get('error') or ''}".rstrip(": "))


def cmd_jobs(args: argparse.Namespace) -> None:
    client = make_client(args)
    emit(client.request("GET", f"jobs/{args.id}/") if args.id else client.request("GET", "jobs/")["results"])


def cmd_follow(args: argparse.Namespace) -> None:
    follow(make_client(args), args.id)


def cmd_cancel(args: argparse.Namespace) -> None:
    emit(make_client(args).request("POST", f"jobs/{args.id}/cancel/"))


def cmd_download(args: argparse.Namespace) -> None:
    client = make_client(args)
    artifacts = client.artifacts(args.job)
    chosen = [a for a in artifacts if not args.kind or a["kind"] == args.kind]
    if not chosen:
        kinds = ", ".join(sorted({a["kind"] for a in artifacts})) or "none yet"
        raise SystemExit(f"Job {args.job} has no {args.kind} artifact (it has: {kinds}).")
    Path(args.output).mkdir(parents=True, exist_ok=True)
    for artifact in chosen:
        print(client.download(artifact, args.output))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="layerloom", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    url_help = "Server URL (default: LAYERLOOM_URL or the saved login)."
    token_help = "API token (default: LAYERLOOM_TOKEN or the saved login)."
    parser.add_argument("--url", help=url_help)
    parser.add_argument("--token", help=token_help)
    # The same two options after the command (`layerloom login --url ...`); SUPPRESS keeps
    # the value given before the command when they are not repeated after it.
    connection = argparse.ArgumentParser(add_help=False)
    connection.add_argument("--url", default=argparse.SUPPRESS, help=url_help)
    connection.add_argument("--token", default=argparse.SUPPRESS, help=token_help)
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=help, parents=[connection])

    p = command("login", "Get a token and save it.")
    p.add_argument("--username", required=True)
    p.add_argument("--password", help="Default: LAYERLOOM_PASSWORD, else asked for.")
    p.set_defaults(func=cmd_login)

    p = command("logout", "Revoke the saved token and forget it.")
    p.set_defaults(func=cmd_logout)

    p = command("upload", "Upload a dataset file, with a progress bar.")
    p.add_argument("file")
    p.add_argument("--kind", required=True, help="The kind of data: tabular, images, text, ... (the server checks it).")
    p.add_argument("--name")
    p.add_argument("--options", help="Ingestion options as a JSON object.")
    p.add_argument("--option", action="append", metavar="KEY=VALUE", help="One ingestion option (repeatable).")
    p.add_argument("--wait", action="store_true", help="Wait until ingestion is done.")
    p.add_argument("--quiet", action="store_true", help="No progress bar.")
    p.set_defaults(func=cmd_upload)

    p = command("datasets", "List datasets, or show one.")
    p.add_argument("id", nargs="?", type=int)
    p.set_defaults(func=cmd_datasets)

    p = command("architecture", "Create, validate or list architectures.")
    p.add_argument("action", choices=["create", "validate", "list"])
    p.add_argument("spec", nargs="?", help="Spec JSON file (create, validate).")
    p.add_argument("--name")
    p.add_argument("--batch-size", type=int, default=32)
    p.set_defaults(func=cmd_architecture)

    p = command("train", "Start a training job.")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--architecture", type=int, help="Architecture id.")
    source.add_argument("--spec", help="Or a spec JSON file.")
    p.add_argument("--dataset", type=int, required=True)
    p.add_argument("--framework", choices=["keras", "torch"], default="keras")
    p.add_argument("--hp", action="append", metavar="KEY=VALUE", help="A hyperparameter, e.g. epochs=20.")
    p.add_argument("--follow", action="store_true", help="Print metrics until the job finishes.")
    p.set_defaults(func=cmd_train)

    p = command("jobs", "List jobs, or show one.")
    p.add_argument("id", nargs="?", type=int)
    p.set_defaults(func=cmd_jobs)

    p = command("follow", "Print a job's metrics until it finishes.")
    p.add_argument("id", type=int)
    p.set_defaults(func=cmd_follow)

    p = command("cancel", "Cancel a job.")
    p.add_argument("id", type=int)
    p.set_defaults(func=cmd_cancel)

    p = command("download", "Download a job's artifacts (checked against their sha256).")
    p.add_argument("job", type=int)
    p.add_argument("--kind", help="Only this kind, e.g. onnx.")
    p.add_argument("-o", "--output", default=".", help="Directory to write to.")
    p.set_defaults(func=cmd_download)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "architecture" and args.action != "list" and not args.spec:
        raise SystemExit("architecture create/validate needs a spec file")
    try:
        args.func(args)
    except ApiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        body = exc.body if isinstance(exc.body, dict) else {}
        for entry in body.get("errors", [])[:20]:
            where = ".".join(str(p) for p in (entry.get("field"), entry.get("layer_id"), entry.get("param")) if p)
            print(f"  {where or '-'}: {entry.get('message')}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
