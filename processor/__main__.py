from processor.cli import run_cli

run_cli()
