"""Serving under load on this machine: the server's CPU per prediction, and an open-loop p99.

    .venv/bin/python bench/bench_serving_load.py [--cpu-requests 2000] [--seconds 15]
                                                 [--arrivals poisson|fixed] [--postgres URL] [--redis URL]

The same setup as bench/bench_serving.py (the exported tabular MLP as a succeeded job, also
published under a name; gunicorn with webapp/gunicorn.conf.py and production settings on a
throwaway PostgreSQL database and the Redis cache; the per-user throttle on, at a rate the
benchmark does not reach, so every request counts itself). The client is one asyncio loop
in this process writing prepared HTTP/1.1 requests on kept-alive sockets: no HTTP library,
so it costs little of the two cores it shares with the server; its own CPU per request is
printed.

1. CPU per request: a few connections send requests back to back; the gunicorn master's
   and workers' user + system CPU time (/proc/PID/stat, children included) over the
   successful requests. References measured in the same run: ONNX Runtime's session.run
   on the same prepared row in this process (CPU time); an empty authenticated API request
   (GET /api/models/ of a second user, who has published nothing) through the same server;
   and gunicorn with the same settings serving a constant answer without Django
   (bench/wsgi_constant.py), started beside it. Printed as ratios.
   Beside them, the PostgreSQL backends' CPU (this run's database only) and redis-server's
   (shared with whatever else uses it) per request.
2. Maximum throughput: closed loop, 8, 16 and 32 connections each sending back to back.
3. Open loop at half the maximum: requests are sent at scheduled times (Poisson or fixed
   arrivals) whatever the answers do; a request's latency runs from its scheduled time, so
   a send delayed behind a stalled server is counted (no coordinated omission). p50, p99.

Target (issue 22): server CPU per single-row prediction <= 2 ms; open-loop p99 < 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from bench_serving import DOC, admin_database, environment, free_port, rows, set_up  # noqa: E402

from bench.figures import Figure, record  # noqa: E402

CLOCK = os.sysconf("SC_CLK_TCK")


def cpu_of(pids: set[int], children: bool = True) -> float:
    """User + system CPU seconds of these processes (and, with children, of their waited-for children)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12]) + ((int(fields[13]) + int(fields[14])) if children else 0)
    return total / CLOCK


def server_pids(master: int) -> set[int]:
    found = {master}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == master:
                found.add(int(stat.parent.name))
    return found


def named_pids(name: str) -> set[int]:
    found = set()
    for comm in Path("/proc").glob("[0-9]*/comm"):
        with contextlib.suppress(OSError):
            if comm.read_text().strip() == name:
                found.add(int(comm.parent.name))
    return found


class Client:
    """Kept-alive HTTP/1.1 connections to one server; a request is prepared bytes."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.opened = 0

    async def _connection(self, fresh: bool) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        while self.idle and not fresh:
            reader, writer = self.idle.pop()
            if not reader.at_eof():  # not closed by the server after its keep-alive time
                return reader, writer
            writer.close()
        self.opened += 1
        return await asyncio.open_connection("127.0.0.1", self.port)

    async def send(self, request: bytes) -> int:
        """The response's status (0: the connection failed twice)."""
        for attempt in range(2):
            reader, writer = await self._connection(fresh=attempt > 0)
            try:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                writer.close()  # the server closed a kept-alive connection: resend on a new one
                continue
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            if b"connection: close" in head.lower():
                writer.close()
            else:
                self.idle.append((reader, writer))
            return status
        return 0

    def close(self) -> None:
        for _reader, writer in self.idle:
            writer.close()
        self.idle.clear()


def http_request(method: str, path: str, token: str, body: bytes = b"") -> bytes:
    head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Token {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")  # fmt: skip
    return head.encode() + body


async def closed_loop(client: Client, request: bytes, connections: int, count: int | None, seconds: float | None
                      ) -> tuple[int, int, float]:  # fmt: skip
    """(successes, failures, elapsed seconds): ``connections`` senders, each back to back."""
    done = [0, 0]
    statuses: dict[int, int] = {}
    deadline = time.perf_counter() + seconds if seconds else None
    remaining = [count or 0]

    async def sender() -> None:
        while True:
            if deadline is not None and time.perf_counter() >= deadline:
                return
            if deadline is None:
                if remaining[0] <= 0:
                    return
                remaining[0] -= 1
            status = await client.send(request)
            done[0 if status == 200 else 1] += 1
            if status != 200:
                statuses[status] = statuses.get(status, 0) + 1

    start = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(connections)))
    if statuses:
        print(f"   (failures by status: {statuses})")
    return done[0], done[1], time.perf_counter() - start


async def open_loop(client: Client, request: bytes, rate: float, seconds: float, poisson: bool
                    ) -> tuple[list[float], int, float]:  # fmt: skip
    """Latencies (ms, from each request's scheduled time), failures, and the most a send started late (ms)."""
    rng = random.Random(7)
    latencies: list[float] = []
    failures = [0]
    tasks = []
    late = 0.0

    async def one(scheduled: float) -> None:
        status = await client.send(request)
        if status == 200:
            latencies.append((time.perf_counter() - scheduled) * 1000)
        else:
            failures[0] += 1

    start = time.perf_counter()
    at = start
    while at - start < seconds:
        at += rng.expovariate(rate) if poisson else 1 / rate
        wait = at - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        late = max(late, (time.perf_counter() - at) * 1000)
        tasks.append(asyncio.create_task(one(at)))
    await asyncio.gather(*tasks)
    return latencies, failures[0], late


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cpu-requests", type=int, default=2000, help="requests of each kind for the CPU figures")
    parser.add_argument("--cpu-connections", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=15.0, help="each throughput and open-loop phase")
    parser.add_argument("--cpu-only", action="store_true", help="only the CPU figures (1.)")
    parser.add_argument("--arrivals", choices=["poisson", "fixed"], default="poisson")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    args = parser.parse_args()

    print(f"date {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average at start "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} CPUs")  # fmt: skip
    folder = Path(tempfile.mkdtemp(prefix="bench-serving-load-"))
    port = free_port()
    database = f"bench_serving_load_{os.getpid()}"
    admin_database(args.postgres, f"CREATE DATABASE {database}")
    os.environ.update(environment(folder, port, f"{args.postgres}/{database}", args.redis))
    server = constant = None
    try:
        job, token = set_up(folder)
        from serving.endpoints import publish
        from serving.sessions import CACHE

        publish(job.owner, "bench", job)
        from django.contrib.auth import get_user_model
        from rest_framework.authtoken.models import Token

        other = get_user_model().objects.create_user("bench-empty", password="bench-password-2")
        other_token = Token.objects.create(user=other).key
        loaded = CACHE.get(job)
        from builder.datasets.kinds import transform_records

        one_row = rows(1, seed=1)[0]
        x1 = transform_records(DOC, [one_row])
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "-c", "webapp/gunicorn.conf.py", "webapp.wsgi"],
            cwd=ROOT, env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        constant_port = free_port()
        constant = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "-c", "webapp/gunicorn.conf.py", "-b",
             f"127.0.0.1:{constant_port}", "--chdir", str(ROOT / "bench"), "wsgi_constant:application"],
            cwd=ROOT, env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        body = json.dumps({"row": one_row}).encode()
        requests = {
            "empty": http_request("GET", "/api/models/", other_token),
            "job": http_request("POST", f"/api/jobs/{job.pk}/predict/", token, body),
            "named": http_request("POST", "/api/models/bench/predict/", token, body),
        }
        asyncio.run(run(args, port, server, database, requests, loaded, x1, constant_port, constant))
    finally:
        if constant is not None:
            constant.terminate()
            constant.wait(30)
        if server is not None:
            server.terminate()
            server.wait(30)
        shutil.rmtree(folder, ignore_errors=True)
        from django.db import connections

        connections.close_all()
        admin_database(args.postgres, f"DROP DATABASE IF EXISTS {database}")
    print(f"load average at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def database_pids(database: str) -> set[int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [database])
        found = {row[0] for row in cursor.fetchall()}
    connection.close()  # this thread's connection: the database is dropped at the end
    return found


async def run(args: Any, port: int, server: Any, database: str, requests: dict[str, bytes], loaded: Any, x1: Any,
              constant_port: int, constant: Any) -> None:  # fmt: skip
    client, constant_client = Client(port), Client(constant_port)
    constant_request = http_request("POST", "/", "-", requests["job"].split(b"\r\n\r\n", 1)[1])
    while await _try(constant_client, constant_request) != 200:
        if constant.poll() is not None:
            raise SystemExit("gunicorn (constant answer) did not start")
        await asyncio.sleep(0.2)
    await closed_loop(constant_client, constant_request, 8, 200, None)
    constant_pids = server_pids(constant.pid)
    deadline = time.monotonic() + 60
    while await _try(client, requests["empty"]) != 200:
        if time.monotonic() > deadline or server.poll() is not None:
            raise SystemExit(
                "gunicorn did not start: " + (server.stderr.read().decode()[-2000:] if server.stderr else "")
            )
        await asyncio.sleep(0.2)
    # Warm: both workers, the model loaded in each, the database connections open.
    for name in requests:
        ok, failed, _ = await closed_loop(client, requests[name], 8, 200, None)
        if failed:
            raise SystemExit(f"{name}: {failed} warm-up requests failed")
    pids = server_pids(server.pid)
    print(f"server: gunicorn {len(pids) - 1} workers x {os.environ.get('GUNICORN_THREADS', '8')} threads, "
          f"PostgreSQL, Redis; client: one asyncio loop in this process, prepared requests")  # fmt: skip

    # Reference: ONNX Runtime's own run of the same row, CPU time in this process.
    n = 2000
    start = time.process_time()
    for _ in range(n):
        loaded.run(x1)
    ort_ms = (time.process_time() - start) / n * 1000

    redis_pids, db_pids = named_pids("redis-server"), await asyncio.to_thread(database_pids, database)
    print(f"1. CPU per request, {args.cpu_requests} requests of each kind on {args.cpu_connections} connections, "
          "interleaved in rounds of 200:")  # fmt: skip
    kinds = {"constant": (constant_client, constant_request, constant_pids),
             **{name: (client, request, pids) for name, request in requests.items()}}  # fmt: skip
    totals = {name: {"server": 0.0, "client": 0.0, "db": 0.0, "redis": 0.0, "ok": 0, "wall": 0.0} for name in kinds}
    for _round in range(max(1, args.cpu_requests // 200)):
        for name, (sender, request, processes) in kinds.items():
            before = (cpu_of(processes), time.process_time(), cpu_of(db_pids, False), cpu_of(redis_pids, False))
            ok, failed, wall = await closed_loop(sender, request, args.cpu_connections, 200, None)
            after = (cpu_of(processes), time.process_time(), cpu_of(db_pids, False), cpu_of(redis_pids, False))
            if failed:
                raise SystemExit(f"{name}: {failed} requests failed")
            entry = totals[name]
            for key, b, a in zip(("server", "client", "db", "redis"), before, after, strict=True):
                entry[key] += a - b
            entry["ok"] += ok
            entry["wall"] += wall
    per = {name: {k: v / t["ok"] * 1000 for k, v in t.items() if k not in ("ok",)} for name, t in totals.items()}
    print(f"   ONNX Runtime session.run, the same row, in process (CPU)   {ort_ms:7.3f} ms")
    labels = {"constant": "gunicorn, constant answer, no Django", "empty": "GET /api/models/, none (empty reference)", "job": "POST /api/jobs/{id}/predict/, one row",
              "named": "POST /api/models/{name}/predict/, one row"}  # fmt: skip
    for name, label in labels.items():
        p = per[name]
        print(f"   {label:<44} server CPU {p['server']:6.3f} ms  (PostgreSQL {p['db']:.3f}, redis-server "
              f"{p['redis']:.3f}, client {p['client']:.3f}; wall {p['wall']:.2f} ms per request per connection "
              f"x{args.cpu_connections})")  # fmt: skip
    for name in ("job", "named"):
        cpu = per[name]["server"]
        print(f"   {name}: server CPU / session.run {cpu / ort_ms:6.1f}x, / empty request "
              f"{cpu / per['empty']['server']:.2f}x, / constant answer {cpu / per['constant']['server']:.1f}x; "
              f"target <= 2 ms: {'met' if cpu <= 2 else 'MISSED'}")  # fmt: skip
        record(Figure(f"{labels[name]}: server CPU per request", f"{cpu:.2f} ms",
                      f"an empty authenticated request: {per['empty']['server']:.2f} ms; session.run {ort_ms:.3f} ms",
                      cpu / per["empty"]["server"], "at most 2 ms", cpu <= 2))  # fmt: skip

    if args.cpu_only:
        return
    print("2. maximum throughput, closed loop, POST /api/jobs/{id}/predict/ one row:")
    best = 0.0
    for connections in (8, 16, 32):
        c0, s0 = time.process_time(), cpu_of(pids)
        ok, failed, wall = await closed_loop(client, requests["job"], connections, None, args.seconds)
        client_ms, server_ms = (time.process_time() - c0) / max(ok, 1) * 1000, (cpu_of(pids) - s0) / max(ok, 1) * 1000
        print(f"   {connections:3d} connections: {ok / wall:7.1f} requests/s ({failed} failed), server CPU "
              f"{server_ms:.2f} ms, client CPU {client_ms:.3f} ms per request")  # fmt: skip
        best = max(best, ok / wall)
    client.close()
    constant_client.close()

    rate = best / 2
    print(f"3. open loop at half the maximum: {rate:.1f} requests/s, {args.arrivals} arrivals, {args.seconds:.0f} s")
    c0, s0 = time.process_time(), cpu_of(pids)
    latencies, failed, late = await open_loop(client, requests["job"], rate, args.seconds, args.arrivals == "poisson")
    client_ms = (time.process_time() - c0) / max(len(latencies), 1) * 1000
    server_ms = (cpu_of(pids) - s0) / max(len(latencies), 1) * 1000
    values = np.asarray(latencies)
    p50, p99 = np.percentile(values, 50), np.percentile(values, 99)
    print(f"   {len(latencies)} answered ({failed} failed) on {client.opened} connections opened in all: "
          f"p50 {p50:.1f} ms, p90 {np.percentile(values, 90):.1f} ms, p99 {p99:.1f} ms, max {values.max():.0f} ms; "
          f"latest send {late:.1f} ms after its time")  # fmt: skip
    print(f"   server CPU {server_ms:.2f} ms, client CPU {client_ms:.3f} ms per request; "
          f"target p99 < 100 ms: {'met' if p99 < 100 else 'MISSED'}")  # fmt: skip
    record(Figure(f"open loop at half the maximum ({rate:.0f} requests/s, {args.arrivals}): p99 (p50 {p50:.1f} ms)",
                  f"{p99:.1f} ms", f"the maximum, closed loop: {best:.0f} requests/s", None, "p99 under 100 ms",
                  p99 < 100))  # fmt: skip
    client.close()


async def _try(client: Client, request: bytes) -> int:
    try:
        return await client.send(request)
    except OSError:
        return 0


if __name__ == "__main__":
    main()
