from shim.cli.main import app

app()
