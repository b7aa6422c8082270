"""layerloom: upload data, create architectures, train, follow and download from the shell.

    layerloom login --url http://127.0.0.1:8000 --username alice
    layerloom upload iris.csv --kind tabular --option target_column=species --wait
    layerloom architecture create mlp.json
    layerloom train --architecture 3 --dataset 7 --framework torch --hp epochs=20 --follow
    layerloom jobs --filter status=running
    layerloom download 12 --kind onnx
    layerloom logs 12 13 -o runs && tensorboard --logdir runs
    layerloom sweep create --dataset 7 --architecture 3 --framework torch --vary learning_rate=0.0001..0.1:log \
        --vary batch_size=16,32,64 --trials 12 --hp epochs=30 --follow
    layerloom logout

The server URL and token come from --url/--token (before or after the command), then
LAYERLOOM_URL/LAYERLOOM_TOKEN, then the file `login` writes (~/.config/layerloom/config.json,
or $LAYERLOOM_CONFIG). Output is a table on a terminal and JSON otherwise (--output).

Exit status: 0 done, 1 the server answered with an error or could not be reached,
2 a usage error, 3 the job or the dataset's ingestion failed (or was cancelled),
4 --timeout passed first, 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from client import __version__
from client.api import MAX_PAGE_SIZE, Client
from client.errors import INTERRUPTED, OK, CliError, TimedOut, UsageError, WorkFailed
from client.output import FORMATS, default_format, emit

FOLLOW_PATIENCE = 300  # seconds a follow waits out a server that went out of reach (a restart)


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
            raise UsageError(f"{flag} expects key=value, got {item!r}")
        out[key] = parse_value(value)
    return out


def read_json(path: str, what: str) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except OSError as exc:
        raise UsageError(f"cannot read the {what} {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UsageError(f"the {what} {path} is not JSON: {exc}") from None


def say(message: str) -> None:
    print(message, file=sys.stderr)


def show(args: argparse.Namespace, data: Any, kind: str = "") -> None:
    output = args.output or os.environ.get("LAYERLOOM_OUTPUT") or default_format()
    if output not in FORMATS:
        raise UsageError(f"LAYERLOOM_OUTPUT must be one of {', '.join(FORMATS)}, not {output!r}")
    emit(data, output, kind)


def progress_on(args: argparse.Namespace) -> bool:
    """Bars only where a person watches: stderr a terminal, and not --quiet."""
    return not getattr(args, "quiet", False) and sys.stderr.isatty()


def make_client(args: argparse.Namespace, need_token: bool = True) -> Client:
    config = load_config()
    url = args.url or os.environ.get("LAYERLOOM_URL") or config.get("url") or "http://127.0.0.1:8000"
    token = args.token or os.environ.get("LAYERLOOM_TOKEN") or config.get("token")
    if need_token and not token:
        raise UsageError("not logged in: run `layerloom login` or set LAYERLOOM_TOKEN.")

    def retrying(status: int, seconds: float, attempt: int) -> None:
        say(
            f"layerloom: HTTP {status}, the server asks to wait; retrying in {seconds:g} s ({attempt} of {client.retries})"
        )

    def verbose(method: str, url: str, status: int) -> None:
        say(f"{method} {url} -> {status}")

    client = Client(url, token, on_retry=retrying, on_request=verbose if args.verbose else None)
    return client


@contextmanager
def interrupted(message: str) -> Iterator[None]:
    """Ctrl-C ends the waiting, not the work on the server; say so, and how to pick it up again."""
    try:
        yield
    except KeyboardInterrupt:
        say(f"\n{message}")
        raise SystemExit(INTERRUPTED) from None


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
        raise UsageError(f"no such file: {path}")
    options: dict[str, Any] = {}
    if args.options:
        options = parse_value(args.options)
        if not isinstance(options, dict):
            raise UsageError(f"--options expects a JSON object, got {args.options!r}")
    options.update(pairs(args.option, "--option"))
    with tqdm(total=path.stat().st_size, unit="B", unit_scale=True, unit_divisor=1024, desc=path.name,
              file=sys.stderr, disable=not progress_on(args)) as bar:  # fmt: skip
        retrying = client.on_retry

        def again(status: int, seconds: float, attempt: int) -> None:  # the file goes out again from its start
            if retrying:
                retrying(status, seconds, attempt)
            bar.reset()

        client.on_retry = again
        dataset = client.upload_dataset(path, args.kind, args.name, options, on_progress=bar.update)
        client.on_retry = retrying
    if args.wait:
        resume = f"dataset {dataset['id']} is still being ingested; check it with `layerloom datasets {dataset['id']}`."
        with interrupted(f"Stopped waiting: {resume}"):
            dataset = client.wait_dataset(dataset["id"], timeout=args.timeout)
    show(args, dataset)
    if dataset["status"] == "failed":
        raise WorkFailed(f"ingestion of dataset {dataset['id']} failed: {dataset['error']}")


def list_or_show(args: argparse.Namespace, path: str, kind: str) -> None:
    client = make_client(args)
    if getattr(args, "id", None):
        show(args, client.request("GET", f"{path}{args.id}/"))
        return
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be 1 or more (leave it out to list everything)")
    if not 1 <= args.page_size <= MAX_PAGE_SIZE:
        raise UsageError(f"--page-size must be from 1 to {MAX_PAGE_SIZE}")
    items, count = client.list_all(path, pairs(args.filter, "--filter"), args.limit, args.page_size)
    show(args, items, kind)
    if count > len(items):
        say(f"Showing {len(items)} of {count} {kind}; {count - len(items)} more: "
            "raise --limit, or leave it out to list them all.")  # fmt: skip


def cmd_datasets(args: argparse.Namespace) -> None:
    list_or_show(args, "datasets/", "datasets")


def cmd_architecture(args: argparse.Namespace) -> None:
    if args.action == "list":
        list_or_show(args, "architectures/", "architectures")
        return
    if not args.spec:
        raise UsageError(
            f"architecture {args.action} needs a spec file: layerloom architecture {args.action} SPEC.json"
        )
    spec = read_json(args.spec, "spec file")
    client = make_client(args)
    if args.action == "validate":
        show(
            args, client.request("POST", "architectures/validate/", json={"spec": spec, "batch_size": args.batch_size})
        )
    else:
        show(args, client.create_architecture(spec, args.name))


def cmd_train(args: argparse.Namespace) -> None:
    spec = read_json(args.spec, "spec file") if args.spec else None
    hyperparameters = pairs(args.hp, "--hp")
    client = make_client(args)
    job = client.start_job(args.dataset, args.framework, args.architecture, spec, hyperparameters)
    if not args.follow:
        show(args, job)
        return
    say(f"Job {job['id']} queued.")
    follow(args, client, job["id"])


def follow(args: argparse.Namespace, client: Client, job_id: int) -> None:
    from tqdm import tqdm

    with tqdm(total=None, unit="epoch", desc=f"job {job_id}", file=sys.stderr, disable=not progress_on(args),
              bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} epochs [{elapsed}<{remaining}]") as bar:  # fmt: skip

        def metric(row: dict[str, Any]) -> None:
            values = "  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row["values"].items())
            tqdm.write(f"epoch {row['epoch']}: {values}", file=sys.stderr)

        def poll(state: dict[str, Any]) -> None:
            if bar.disable:
                return
            bar.total = state.get("total_epochs") or bar.total
            bar.n = state.get("epoch") or 0
            bar.set_description_str(f"job {job_id} {state['status']}", refresh=False)
            bar.refresh()

        stop = (f"Stopped following job {job_id}; the job goes on. Follow it again with `layerloom follow {job_id}`, "
                f"or stop it with `layerloom cancel {job_id}`.")  # fmt: skip

        def contact(error: str | None) -> None:
            lost = (
                f"Lost contact with {client.url} ({error}); trying again for up to {FOLLOW_PATIENCE // 60:g} minutes."
            )
            tqdm.write(lost if error else f"Back in contact with {client.url}.", file=sys.stderr)

        with interrupted(stop):
            job = client.follow_job(job_id, timeout=args.timeout, on_metric=metric, on_poll=poll, on_contact=contact,
                                    patience=FOLLOW_PATIENCE)  # fmt: skip
    show(args, job)
    if job["status"] != "succeeded":
        raise WorkFailed(f"job {job_id} {job['status']}: {job.get('error') or 'no error recorded'}")


def cmd_jobs(args: argparse.Namespace) -> None:
    list_or_show(args, "jobs/", "jobs")


def cmd_follow(args: argparse.Namespace) -> None:
    follow(args, make_client(args), args.id)


def cmd_cancel(args: argparse.Namespace) -> None:
    show(args, make_client(args).request("POST", f"jobs/{args.id}/cancel/"))


def cmd_download(args: argparse.Namespace) -> None:
    client = make_client(args)
    artifacts = client.artifacts(args.job)
    chosen = [a for a in artifacts if not args.kind or a["kind"] == args.kind]
    if not chosen:
        kinds = ", ".join(sorted({a["kind"] for a in artifacts})) or "none yet"
        raise CliError(f"job {args.job} has no {args.kind or ''} artifact (it has: {kinds}).".replace("  ", " "))
    Path(args.directory).mkdir(parents=True, exist_ok=True)
    for artifact in chosen:
        print(client.download(artifact, args.directory))


def cmd_logs(args: argparse.Namespace) -> None:
    client = make_client(args)
    folders = client.job_logs(list(dict.fromkeys(args.jobs)), args.directory)
    for folder in folders:
        print(folder)
    say(f"{len(folders)} job{'s' if len(folders) != 1 else ''} in {args.directory}; "
        f"compare them with `tensorboard --logdir {args.directory}`.")  # fmt: skip


def parse_vary(items: list[str] | None) -> dict[str, Any]:
    """--vary NAME=a,b,c (a choice) or NAME=LOW..HIGH[:log][:int][:step=S] (a range), as the API's space."""
    space: dict[str, Any] = {}
    for item in items or []:
        name, sep, text = item.partition("=")
        if not sep or not name or not text:
            raise UsageError(f"--vary expects NAME=a,b,c or NAME=LOW..HIGH[:log][:int][:step=S], got {item!r}")
        if ".." not in text:
            space[name] = {"values": [parse_value(v) for v in text.split(",")]}
            continue
        bounds, *flags = text.split(":")
        low, _, high = bounds.partition("..")
        dim: dict[str, Any] = {"low": parse_value(low), "high": parse_value(high)}
        for flag in flags:
            if flag == "log":
                dim["log"] = True
            elif flag == "int":
                dim["integer"] = True
            elif flag.startswith("step="):
                dim["step"] = parse_value(flag[5:])
            else:
                raise UsageError(f"--vary {name}: unknown flag {flag!r} (use log, int or step=S)")
        space[name] = dim
    return space


def sweep_summary(sweep: dict[str, Any]) -> str:
    """One line per trial and the sweep's state: what `sweep follow` prints as it changes."""
    lines = [f"sweep {sweep['id']} {sweep['status_display'].lower()} (compared on {sweep['metric']}, validation "
             "split only)"]  # fmt: skip
    for t in sweep["trials"]:
        value = t["value"] if t["value"] is not None else t["last_value"]
        shown = f"{sweep['metric']}={value:.4g}" if isinstance(value, int | float) else ""
        settings = " ".join(f"{k}={v}" for k, v in t["params"].items())
        lines.append(f"  trial {t['number']} job {t['job'] or '-'} {t['status_display'].lower()} "
                     f"epochs={t['epochs_run']} {shown} {settings}".rstrip())  # fmt: skip
    if sweep.get("note"):
        lines.append(sweep["note"])
    return "\n".join(lines)


def cmd_sweep(args: argparse.Namespace) -> None:
    if args.action == "create":
        if args.id is not None:
            raise UsageError("sweep create takes no id; its options say what to sweep")
        if not args.dataset or not args.architecture:
            raise UsageError("sweep create needs --dataset ID and at least one --architecture ID")
        space = read_json(args.space, "space file") if args.space else {}
        space.update(parse_vary(args.vary))
        body: dict[str, Any] = {
            "dataset": args.dataset, "architectures": args.architecture, "framework": args.framework,
            "method": args.method, "metric": args.metric, "parallel": args.parallel, "pruner": args.pruner,
            "seed": args.seed, "space": space, "hyperparameters": pairs(args.hp, "--hp"),
        }  # fmt: skip
        for key, value in (("max_trials", args.trials), ("max_seconds", args.max_seconds), ("name", args.name)):
            if value is not None:
                body[key] = value
        client = make_client(args)
        sweep = client.request("POST", "sweeps/", json=body)
        if not args.follow:
            show(args, sweep)
            return
        say(f"Sweep {sweep['id']} started.")
        follow_sweep(args, client, sweep["id"])
        return
    if args.action == "list" or (args.action == "show" and args.id is None):
        list_or_show(args, "sweeps/", "sweeps")
        return
    if args.id is None:
        raise UsageError(f"sweep {args.action} needs a sweep id: layerloom sweep {args.action} ID")
    client = make_client(args)
    if args.action == "show":
        sweep = client.request("GET", f"sweeps/{args.id}/")
        output = args.output or os.environ.get("LAYERLOOM_OUTPUT") or default_format()
        if output == "table":
            print(sweep_summary(sweep))
        else:
            show(args, sweep)
    elif args.action == "follow":
        follow_sweep(args, client, args.id)
    elif args.action == "cancel":
        show(args, client.request("POST", f"sweeps/{args.id}/cancel/"))
    elif args.action == "retrain":
        show(args, client.request("POST", f"sweeps/{args.id}/retrain/"))
    elif args.action == "publish":
        if not args.name:
            raise UsageError("sweep publish needs --name NAME, the endpoint's name")
        show(args, client.request("POST", f"sweeps/{args.id}/publish/", json={"name": args.name}))


def follow_sweep(args: argparse.Namespace, client: Client, sweep_id: int) -> None:
    """Print each trial's line when it changes, until the sweep ends (exit 3 unless it finished)."""
    deadline = None if args.timeout is None else time.monotonic() + args.timeout
    shown: dict[Any, str] = {}
    stop = (f"Stopped following sweep {sweep_id}; it goes on. Follow it again with `layerloom sweep follow "
            f"{sweep_id}`, or stop it with `layerloom sweep cancel {sweep_id}`.")  # fmt: skip
    with interrupted(stop):
        while True:
            sweep = client.request("GET", f"sweeps/{sweep_id}/")
            lines = sweep_summary(sweep).split("\n")
            for key, line in [("head", lines[0]), *((n, lines[n + 1]) for n in range(len(sweep["trials"])))]:
                if shown.get(key) != line:
                    shown[key] = line
                    say(line)
            if sweep["status"] not in ("running", "evaluating"):
                break
            if deadline is not None and time.monotonic() > deadline:
                raise TimedOut(f"sweep {sweep_id} is still {sweep['status']} after {args.timeout:g} s (it goes on); "
                               f"follow it again with `layerloom sweep follow {sweep_id}`.")  # fmt: skip
            time.sleep(args.interval)
    if sweep.get("note"):
        say(sweep["note"])
    show(args, {k: v for k, v in sweep.items() if k != "trials"})
    if sweep["status"] != "finished":
        raise WorkFailed(f"sweep {sweep_id} {sweep['status']}: {sweep.get('note') or 'no note recorded'}")


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="layerloom", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--version", action="version", version=f"layerloom {__version__}")
    url_help = "Server URL (default: LAYERLOOM_URL or the saved login)."
    token_help = "API token (default: LAYERLOOM_TOKEN or the saved login)."
    output_help = "json or table (default: LAYERLOOM_OUTPUT, else a table on a terminal and JSON otherwise)."
    verbose_help = "Print each request and its status on stderr."
    parser.add_argument("--url", help=url_help)
    parser.add_argument("--token", help=token_help)
    parser.add_argument("--output", choices=FORMATS, help=output_help)
    parser.add_argument("-v", "--verbose", action="store_true", help=verbose_help)
    # The same options after the command (`layerloom login --url ...`); SUPPRESS keeps
    # the value given before the command when they are not repeated after it.
    connection = argparse.ArgumentParser(add_help=False)
    connection.add_argument("--url", default=argparse.SUPPRESS, help=url_help)
    connection.add_argument("--token", default=argparse.SUPPRESS, help=token_help)
    connection.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=verbose_help)
    formatting = argparse.ArgumentParser(add_help=False)
    formatting.add_argument("--output", choices=FORMATS, default=argparse.SUPPRESS, help=output_help)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str, func: Callable[[argparse.Namespace], None],
                prints_data: bool = True) -> argparse.ArgumentParser:  # fmt: skip
        parents = [connection, formatting] if prints_data else [connection]
        sub = commands.add_parser(name, help=help, description=help, parents=parents)
        sub.set_defaults(func=func)
        return sub

    def listing(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--limit", type=int, help="At most this many (default: every page, all of them).")
        sub.add_argument("--filter", action="append", metavar="KEY=VALUE",
                         help="A filter the API knows, e.g. status=running (repeatable).")  # fmt: skip
        sub.add_argument("--page-size", type=int, default=MAX_PAGE_SIZE, help=argparse.SUPPRESS)

    def waiting(sub: argparse.ArgumentParser, what: str) -> None:
        sub.add_argument("--timeout", type=positive_seconds, metavar="SECONDS",
                         help=f"Give up waiting for {what} after this long (exit 4); the default waits until it ends.")  # fmt: skip

    p = command("login", "Get a token and save it.", cmd_login, prints_data=False)
    p.add_argument("--username", required=True)
    p.add_argument("--password", help="Default: LAYERLOOM_PASSWORD, else asked for.")

    command("logout", "Revoke the saved token and forget it.", cmd_logout, prints_data=False)

    p = command("upload", "Upload a dataset file, with a progress bar.", cmd_upload)
    p.add_argument("file")
    p.add_argument("--kind", required=True, help="The kind of data: tabular, images, text, ... (the server checks it).")
    p.add_argument("--name")
    p.add_argument("--options", help="Ingestion options as a JSON object.")
    p.add_argument("--option", action="append", metavar="KEY=VALUE", help="One ingestion option (repeatable).")
    p.add_argument("--wait", action="store_true", help="Wait until ingestion is done (exit 3 if it fails).")
    waiting(p, "ingestion (with --wait)")
    p.add_argument("--quiet", action="store_true", help="No progress bar.")

    p = command("datasets", "List datasets (every page), or show one.", cmd_datasets)
    p.add_argument("id", nargs="?", type=int)
    listing(p)

    p = command("architecture", "Create, validate or list architectures.", cmd_architecture)
    p.add_argument("action", choices=["create", "validate", "list"])
    p.add_argument("spec", nargs="?", help="Spec JSON file (create, validate).")
    p.add_argument("--name")
    p.add_argument("--batch-size", type=int, default=32)
    listing(p)

    p = command("train", "Start a training job.", cmd_train)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--architecture", type=int, help="Architecture id.")
    source.add_argument("--spec", help="Or a spec JSON file.")
    p.add_argument("--dataset", type=int, required=True)
    p.add_argument("--framework", choices=["keras", "torch"], default="keras")
    p.add_argument("--hp", action="append", metavar="KEY=VALUE", help="A hyperparameter, e.g. epochs=20.")
    p.add_argument("--follow", action="store_true", help="Print metrics until the job finishes (exit 3 if it fails).")
    waiting(p, "the job (with --follow)")
    p.add_argument("--quiet", action="store_true", help="No progress bar.")

    p = command("jobs", "List jobs (every page), or show one.", cmd_jobs)
    p.add_argument("id", nargs="?", type=int)
    listing(p)

    p = command("follow", "Print a job's metrics until it finishes (Ctrl-C stops following, not the job).", cmd_follow)
    p.add_argument("id", type=int)
    waiting(p, "the job")
    p.add_argument("--quiet", action="store_true", help="No progress bar.")

    p = command("cancel", "Cancel a job.", cmd_cancel)
    p.add_argument("id", type=int)

    p = command("download", "Download a job's artifacts (checked against their sha256).", cmd_download,
                prints_data=False)  # fmt: skip
    p.add_argument("job", type=int)
    p.add_argument("--kind", help="Only this kind, e.g. onnx.")
    # -o/--output stays the directory here, as it always was; elsewhere --output is the format.
    p.add_argument("-o", "--output", dest="directory", default=".", help="Directory to write to.")

    p = command("logs", "Download jobs' TensorBoard logs as one log folder (a folder per job).", cmd_logs,
                prints_data=False)  # fmt: skip
    p.add_argument("jobs", type=int, nargs="+", metavar="JOB", help="Job ids (finished or cancelled jobs).")
    p.add_argument("-o", "--output", dest="directory", default="layerloom-logs",
                   help="The log folder to write into (default: layerloom-logs); a job's folder already there is "
                   "replaced.")  # fmt: skip

    p = command("sweep", "Hyperparameter sweeps: create, list, show, follow, cancel; retrain or publish the winner.",
                cmd_sweep)  # fmt: skip
    p.add_argument("action", choices=["create", "list", "show", "follow", "cancel", "retrain", "publish"])
    p.add_argument("id", nargs="?", type=int, help="The sweep (show, follow, cancel, retrain, publish).")
    p.add_argument("--dataset", type=int)
    p.add_argument("--architecture", type=int, action="append", help="Architecture id (repeatable: up to 5).")
    p.add_argument("--framework", choices=["keras", "torch"], default="keras")
    p.add_argument("--vary", action="append", metavar="NAME=SPEC",
                   help="A setting that varies: NAME=a,b,c or NAME=LOW..HIGH[:log][:int][:step=S]; NAME is a "
                   "hyperparameter or layers.<layer id>.<parameter> (repeatable).")  # fmt: skip
    p.add_argument("--space", help="Or the search space as a JSON file (--vary adds to it).")
    p.add_argument("--hp", action="append", metavar="KEY=VALUE", help="A setting every trial shares, e.g. epochs=30.")
    p.add_argument("--method", choices=["grid", "random", "tpe"], default="random")
    p.add_argument("--metric", default="val_loss", help="val_loss, val_accuracy, val_mae or val_rmse.")
    p.add_argument("--trials", type=int, help="Most trials (default 10; a grid: its size).")
    p.add_argument("--max-seconds", type=int, help="No trial starts after this long.")
    p.add_argument("--parallel", type=int, default=2, help="Trials running at once (default 2).")
    p.add_argument("--pruner", choices=["median", "none"], default="median")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--name", help="create: the sweep's name; publish: the endpoint's name.")
    p.add_argument("--follow", action="store_true", help="create: follow the sweep until it ends (exit 3 unless "
                   "it finished).")  # fmt: skip
    p.add_argument("--interval", type=positive_seconds, default=2.0, help=argparse.SUPPRESS)
    waiting(p, "the sweep (follow, create --follow)")
    listing(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except CliError as exc:
        say(f"error: {exc}")
        return exc.code
    except KeyboardInterrupt:
        say("\nInterrupted.")
        return INTERRUPTED
    return OK
