"""The `kubeshim` command."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer
import yaml

from shim.cli.cluster import OPTIONAL_ADMISSION_PLUGINS, Options, run
from shim.cli.flyte.commands import app as flyte_app
from shim.controllers.selection import Selection

app = typer.Typer(add_completion=False, no_args_is_help=True, help="A Kubernetes API on SQLite that runs Pods "
                  "as local processes.")
app.add_typer(flyte_app, name="flyte")


def default_data_dir() -> Path:
    return Path(os.environ.get("KUBESHIM_HOME") or Path.home() / ".kubeshim")


@app.command()
def up(data_dir: Optional[Path] = typer.Option(None, help="State directory (default $KUBESHIM_HOME or ~/.kubeshim)"),
       host: str = typer.Option("127.0.0.1", help="Address to bind"),
       port: int = typer.Option(6443, help="Port to serve on"),
       no_kubelet: bool = typer.Option(False, "--no-kubelet", help="Do not run pods on this machine"),
       insecure_http: bool = typer.Option(False, "--insecure-http", help="Serve plain HTTP (tests only)"),
       log_level: str = typer.Option("warning", help="debug, info, warning or error"),
       kubelet_config: Optional[Path] = typer.Option(
           None, "--kubelet-config", exists=True, dir_okay=False,
           help="YAML of kubelet settings, e.g. `image_rules: [{match: 'cr.flyte.org/*', venv: /opt/flytekit}]`"),
       watch_window: int = typer.Option(20000, "--watch-window", hidden=True, min=1,
                                        help="Revisions kept for watch resume (tests shrink it to reach 410)"),
       compaction_interval: float = typer.Option(
           300.0, "--compaction-interval", min=0,
           help="Seconds between compactions of the change history, as kube-apiserver's --etcd-compaction-interval: "
                "a watch or list continue token from before the previous compaction gets 410 Expired (0: never)"),
       bookmark_interval: float = typer.Option(10.0, "--bookmark-interval", hidden=True, min=0.05,
                                               help="Seconds of quiet before a watch gets a BOOKMARK"),
       controllers: list[str] = typer.Option(
           ["*"], "--controllers",
           help="kube-controller-manager's controllers to run, as its flag takes them: '*' for all, 'name' to add "
                "one, '-name' to leave one out (e.g. '*,-root-ca-certificate-publisher-controller')"),
       service_account_issuer: list[str] = typer.Option(
           [], "--service-account-issuer",
           help="The `iss` of service-account tokens (default: the server's URL); repeat to keep accepting "
                "tokens of earlier issuers: the first one signs"),
       disable_admission_plugins: list[str] = typer.Option(
           [], "--disable-admission-plugins",
           help="kube-apiserver's flag, for the plugins kubeshim can turn off: 'ServiceAccount' (pods then get no "
                "service account, token volume or account check)")
       ) -> None:
    """Run kubeshim in the foreground (Ctrl-C stops it)."""
    data_dir = data_dir or default_data_dir()
    kubelet_settings = yaml.safe_load(kubelet_config.read_text()) or {} if kubelet_config else {}
    if not isinstance(kubelet_settings, dict):
        raise typer.BadParameter("must be a YAML mapping of kubelet settings", param_hint="--kubelet-config")
    try:
        chosen = Selection.parse(controllers)
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--controllers") from None
    disabled = {name.strip() for item in disable_admission_plugins for name in item.split(",") if name.strip()}
    unknown = sorted(disabled - OPTIONAL_ADMISSION_PLUGINS)
    if unknown:
        raise typer.BadParameter(f"{unknown[0]!r} cannot be turned off here; kubeshim can disable: "
                                 f"{', '.join(sorted(OPTIONAL_ADMISSION_PLUGINS))}",
                                 param_hint="--disable-admission-plugins")
    run(Options(data_dir=data_dir, host=host, port=port, tls=not insecure_http, controllers=chosen,
                admission_plugins=OPTIONAL_ADMISSION_PLUGINS - disabled,
                kubelet=not no_kubelet, log_level=log_level, watch_window=watch_window,
                compaction_interval=compaction_interval, bookmark_interval=bookmark_interval,
                service_account_issuers=service_account_issuer, extra={"kubelet": kubelet_settings}))


@app.command()
def kubeconfig(data_dir: Optional[Path] = typer.Option(None, help="State directory")) -> None:
    """Print the kubeconfig of the kubeshim whose state is in DATA_DIR."""
    path = (data_dir or default_data_dir()) / "kubeconfig"
    if not path.exists():
        typer.echo(f"no kubeconfig at {path}: run `kubeshim up` first", err=True)
        raise typer.Exit(1)
    typer.echo(path.read_text(), nl=False)


@app.command("login-url")
def login_url_command(
        data_dir: Annotated[Path | None, typer.Option(help="State directory")] = None,
        user: Annotated[str | None, typer.Option(help="Sign in as this user of tokens.json (default: the admin)")]
        = None) -> None:
    """Print the link that signs a browser in to the log pages (https://HOST:PORT/login?token=...)."""
    from shim.server.sessions import login_url

    directory = data_dir or default_data_dir()
    path = directory / "kubeconfig"
    if not path.exists():
        typer.echo(f"no kubeconfig at {path}: run `kubeshim up` first", err=True)
        raise typer.Exit(1)
    server = yaml.safe_load(path.read_text())["clusters"][0]["cluster"]["server"]
    try:
        typer.echo(login_url(directory, server, user))
    except LookupError as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(1) from None


@app.command("rotate-service-account-key")
def rotate_service_account_key(
        data_dir: Annotated[Path | None, typer.Option(help="State directory")] = None) -> None:
    """Make a new service-account signing key; tokens signed with the old one keep verifying (its public key
    moves to DATA_DIR/sa-verify.pem). kubeshim signs with the new key from its next start."""
    from shim.server.satokens import rotate

    typer.echo(f"new signing key id: {rotate(data_dir or default_data_dir())}")


if __name__ == "__main__":
    app()
