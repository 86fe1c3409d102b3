"""The ``risk-dagster`` command line.

Each sub-command is a thin shell over a domain module; errors in user input are printed as one
line on stderr (never a traceback) and give a non-zero exit status.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="risk-dagster",
    help="Regulatory stress testing: supervisory scenarios to granular shocks, losses and capital.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
scenarios_app = typer.Typer(help="Read and inspect supervisory scenario files.", no_args_is_help=True)
app.add_typer(scenarios_app, name="scenarios")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
