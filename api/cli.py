"""The `switchboard` command.

Run with: switchboard serve | token --customer ID | token --staff ID | migrate | demo-customers
          | eval [--quick] | prune-checkpoints [--older-than DAYS]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

from api.settings import Settings, get_settings


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run a subcommand; return the exit code."""
    parser = argparse.ArgumentParser(prog="switchboard", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="start the API on SWITCHBOARD_HOST:SWITCHBOARD_PORT")
    serve.add_argument("--host", help="override SWITCHBOARD_HOST")
    serve.add_argument("--port", type=int, help="override SWITCHBOARD_PORT")

    token = commands.add_parser("token", help="mint a bearer token (development only)")
    who = token.add_mutually_exclusive_group(required=True)
    who.add_argument("--customer", metavar="ID", help="customer id to act as")
    who.add_argument("--staff", metavar="ID", help="staff member id to act as")
    token.add_argument(
        "--ttl", type=int, help="lifetime in seconds (default SWITCHBOARD_TOKEN_TTL)"
    )

    commands.add_parser("migrate", help="apply pending database migrations and exit")

    ingest = commands.add_parser(
        "ingest", help="index Markdown, HTML, text and PDF files into the knowledge base"
    )
    ingest.add_argument("paths", nargs="+", metavar="PATH", help="files or directories")
    ingest.add_argument(
        "--prune", action="store_true", help="delete chunks of files gone from these paths"
    )
    ingest.add_argument(
        "--audit",
        action="store_true",
        help="index nothing; list the passages the guard would withhold from answers",
    )
    commands.add_parser(
        "demo-customers", help="print the demo customers and some order ids as JSON"
    )

    prune = commands.add_parser(
        "prune-checkpoints",
        help="delete old LangGraph checkpoints, keeping the latest of every thread",
    )
    prune.add_argument(
        "--older-than",
        type=float,
        metavar="DAYS",
        help="only threads idle for at least DAYS days (default: every thread)",
    )
    prune.add_argument(
        "--dry-run", action="store_true", help="list what would be pruned, change nothing"
    )

    commands.add_parser(
        "eval", help="run the evaluation suite (evals/; `switchboard eval --help`)", add_help=False
    )

    config = commands.add_parser("config", help="print the configuration reference")
    fmt = config.add_mutually_exclusive_group(required=True)
    fmt.add_argument("--markdown", action="store_true", help="README's table")
    fmt.add_argument("--env-example", action="store_true", help="the .env.example file")
    fmt.add_argument(
        "--sync-docs", action="store_true", help="rewrite README table and .env.example"
    )

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["eval"]:
        return _eval(argv[1:])
    args = parser.parse_args(argv)
    if args.command == "config":
        from api.config_docs import env_example, settings_markdown, sync_docs

        if args.sync_docs:
            sync_docs(Path.cwd())
        else:
            print(settings_markdown() if args.markdown else env_example(), end="")
        return 0
    settings = get_settings()
    from api.observability.logs import configure_logging

    configure_logging(settings)  # JSON or console, redacted (SWITCHBOARD_LOG_FORMAT)
    if args.command == "serve":
        return _serve(settings, args.host, args.port)
    if args.command == "token":
        return _token(settings, args)
    if args.command == "ingest":
        from ingestion.cli import audit_command, ingest_command

        if args.audit:
            return audit_command(args.paths, settings=settings)
        return ingest_command(args.paths, prune=args.prune, settings=settings)
    if args.command == "migrate":
        return asyncio.run(_migrate(settings))
    if args.command == "demo-customers":
        return asyncio.run(_demo_customers(settings))
    if args.command == "prune-checkpoints":
        return asyncio.run(_prune_checkpoints(settings, args.older_than, dry_run=args.dry_run))
    parser.error(f"unknown command {args.command!r}")
    return 2


def _serve(settings: Settings, host: str | None, port: int | None) -> int:
    import uvicorn

    from api.app import create_app

    host, port = host or settings.host, port or settings.port
    base = f"http://{host}:{port}"
    print(f"Switchboard on {base}  (API docs: {base}/docs, health: {base}/healthz)", flush=True)
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level=settings.log_level.lower(),
        log_config=None,  # keep our handler: uvicorn's lines become structured too
    )
    return 0


def _token(settings: Settings, args: argparse.Namespace) -> int:
    from api.auth import mint_token

    if not settings.is_development:
        print(
            "switchboard token only works with SWITCHBOARD_ENV=development; "
            "production tokens come from your identity provider.",
            file=sys.stderr,
        )
        return 2
    role: Literal["customer", "staff"] = "customer" if args.customer else "staff"
    subject = args.customer or args.staff
    ttl = args.ttl or settings.token_ttl_seconds
    print(mint_token(subject, role, secret=settings.jwt_secret.get_secret_value(), ttl_seconds=ttl))
    return 0


@asynccontextmanager
async def _cli_pool(settings: Settings, *, max_size: int = 1) -> AsyncIterator[Any]:
    """Open a small pool to the configured (or embedded) database for one command."""
    from api.app import resolve_database_url
    from db.pool import open_pool

    pool = await open_pool(
        await resolve_database_url(settings),
        min_size=1,
        max_size=max_size,
        prepare_threshold=settings.db_prepare_threshold,
    )
    try:
        yield pool
    finally:
        await pool.close()


async def _migrate(settings: Settings) -> int:
    from db.migrations import apply_migrations

    async with _cli_pool(settings) as pool, pool.connection() as conn:
        applied = await apply_migrations(conn)
    print(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none pending'}")
    return 0


async def _demo_customers(settings: Settings) -> int:
    import json

    from db.migrations import apply_migrations
    from db.seed import demo_customer_summaries, seed_demo_store

    async with _cli_pool(settings) as pool, pool.connection() as conn:
        await apply_migrations(conn)
        if settings.is_development:
            await seed_demo_store(conn)  # what `make run` would load on start
        customers = await demo_customer_summaries(conn)
    print(json.dumps(customers, indent=2))
    return 0


async def _prune_checkpoints(
    settings: Settings, older_than_days: float | None, *, dry_run: bool
) -> int:
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

    from db.checkpoints import checkpoint_usage, prunable_threads, prune_checkpoints

    async with _cli_pool(settings, max_size=2) as pool:
        saver = AsyncPostgresSaver(pool)
        await saver.setup()
        async with pool.connection() as conn:
            before = await checkpoint_usage(conn)
            if dry_run:
                threads = await prunable_threads(conn, older_than_days=older_than_days)
                print(f"would prune {len(threads)} thread(s) ({before.checkpoints} checkpoints)")
                return 0
            threads = await prune_checkpoints(saver, conn, older_than_days=older_than_days)
            after = await checkpoint_usage(conn)
    print(
        f"pruned {len(threads)} thread(s): {before.checkpoints} -> {after.checkpoints} "
        f"checkpoints, {before.bytes} -> {after.bytes} bytes of checkpoint data"
    )
    return 0


def _eval(argv: list[str]) -> int:
    """Run `evals.runner` (from a checkout: the suite lives next to the packages)."""
    try:
        from evals.runner import main as run_eval
    except ModuleNotFoundError:
        sys.path.insert(0, str(Path.cwd()))
        from evals.runner import main as run_eval
    return run_eval(argv)


if __name__ == "__main__":
    raise SystemExit(main())
