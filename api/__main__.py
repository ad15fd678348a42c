"""`python -m api [--host 127.0.0.1] [--port 28000] [--environment local]` — serve the producer API with uvicorn
(`./run api`). Locally it reaches PostgreSQL through the stack's PgBouncer: start the stack first."""

from __future__ import annotations

import sys

from pipeline.cli import UsageParser, run_cli

def main(argv: list[str] | None = None) -> int:
    parser = UsageParser(prog="./run api", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=None, help="default CDC_API_PORT or 28000")
    parser.add_argument("--environment", default=None, help="default CDC_ENV or local")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)

    def body() -> int:
        import uvicorn

        from api.app import create_app
        from api.settings import load_api_settings

        settings = load_api_settings(args.environment)
        from stack.settings import local_ports

        port = args.port or local_ports()["api"]
        print(f"producer API on http://{args.host}:{port} (docs: /docs) -> database {settings.database.where()}",
              flush=True)
        uvicorn.run(create_app(settings), host=args.host, port=port, log_level="warning", access_log=False)
        return 0

    return run_cli(body)


if __name__ == "__main__":
    sys.exit(main())
