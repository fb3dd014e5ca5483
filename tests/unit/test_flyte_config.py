"""The configuration `kubeshim flyte up` generates for Flyte, flytekit and the kubelet (pure functions)."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from shim.cli.flyte import config, webhook
from shim.cli.flyte.objectstore import ObjectStore
from shim.cli.flyte.postgres import Database
from shim.cli.flyte.processes import StartError
from shim.cli.flyte.settings import FlytePorts, FlyteSettings

STORE = ObjectStore("http://127.0.0.1:30002", "AK", "SK", "flyte-data")
DB = Database("127.0.0.1", 30001, "postgres", "pw", "flyte")


def settings(tmp_path: Path, **overrides: object) -> FlyteSettings:
    return FlyteSettings(data_dir=tmp_path, **overrides)  # type: ignore[arg-type]


def test_namespace_template_and_domains_reach_flyteadmin(tmp_path: Path) -> None:
    doc = config.flyte_config(settings(tmp_path, namespace_template="103020-flytepoc-{{ project }}-{{ domain }}",
                                       domains=("d-dev", "t-dev", "p-dev"), projects=("x",)), DB, STORE)
    assert doc["namespace_mapping"] == {"template": "103020-flytepoc-{{ project }}-{{ domain }}"}
    assert doc["domains"] == [{"id": "d-dev", "name": "d-dev"}, {"id": "t-dev", "name": "t-dev"},
                              {"id": "p-dev", "name": "p-dev"}]
    assert doc["flyte"]["admin"]["seedProjects"] == ["x"]
    assert doc["flyte"]["admin"]["disableClusterResourceManager"] is False


def test_task_pods_get_the_object_store_endpoint_and_keys(tmp_path: Path) -> None:
    env = config.flyte_config(settings(tmp_path), DB, STORE)["plugins"]["k8s"]["default-env-vars"]
    assert {"FLYTE_AWS_ENDPOINT": "http://127.0.0.1:30002"} in env
    assert {"FLYTE_AWS_ACCESS_KEY_ID": "AK"} in env and {"FLYTE_AWS_SECRET_ACCESS_KEY": "SK"} in env


def test_storage_is_s3_with_presigning_at_the_same_endpoint(tmp_path: Path) -> None:
    storage = config.flyte_config(settings(tmp_path), DB, STORE)["storage"]
    assert storage["stow"]["kind"] == "s3"
    assert storage["stow"]["config"]["endpoint"] == "http://127.0.0.1:30002"
    assert storage["stow"]["config"]["disable_ssl"] is True
    assert storage["signedURL"]["stowConfigOverride"]["endpoint"] == "http://127.0.0.1:30002"
    assert storage["container"] == "flyte-data"


def test_log_links_point_at_kubeshims_log_pages_for_pods_and_map_tasks(tmp_path: Path) -> None:
    doc = config.flyte_config(settings(tmp_path, api_port=7443), DB, STORE)
    uri = "https://127.0.0.1:7443/logs/{{ .namespace }}/{{ .podName }}/{{ .containerName }}"
    assert doc["plugins"]["logs"]["kubernetes-template-uri"] == uri
    assert doc["plugins"]["k8s-array"]["logs"]["config"]["kubernetes-template-uri"] == uri


def test_flyte_ports_are_consecutive_from_the_base(tmp_path: Path) -> None:
    doc = config.flyte_config(settings(tmp_path, flyte_ports=FlytePorts(40000)), DB, STORE)
    assert (doc["server"]["httpPort"], doc["server"]["grpc"]["port"]) == (40000, 40001)
    assert (doc["application"]["grpcPort"], doc["application"]["httpPort"]) == (40002, 40003)
    assert doc["propeller"]["prof-port"] == 40004
    assert doc["admin"]["endpoint"] == "dns:///127.0.0.1:40001"
    assert doc["catalog-cache"]["endpoint"] == "127.0.0.1:40002"


def test_propellers_pod_webhook_is_on_and_listens_on_the_sixth_port(tmp_path: Path) -> None:
    s = settings(tmp_path, flyte_ports=FlytePorts(40000))
    doc = config.flyte_config(s, DB, STORE)
    assert doc["flyte"]["propeller"]["disableWebhook"] is False
    assert doc["webhook"]["listenPort"] == 40005
    assert doc["webhook"]["localCert"] is True
    assert doc["webhook"]["certDir"] == str(tmp_path / "flyte" / "webhook-certs")


def test_the_webhook_service_targets_the_listen_port(tmp_path: Path) -> None:
    service = webhook.service(settings(tmp_path, flyte_ports=FlytePorts(40000)))
    assert (service["metadata"]["namespace"], service["metadata"]["name"]) == ("flyte", "flyte-pod-webhook")
    assert service["spec"]["ports"] == [{"name": "webhook", "port": 443, "protocol": "TCP", "targetPort": 40005}]


def test_flyte_uses_kubeshims_kubeconfig_and_crd(tmp_path: Path) -> None:
    doc = config.flyte_config(settings(tmp_path), DB, STORE)
    assert doc["server"]["kube-config"] == doc["propeller"]["kube-config"] == str(tmp_path / "kubeconfig")
    assert doc["propeller"]["create-flyteworkflow-crd"] is False


def test_flytekit_config_names_admin_grpc_and_the_store(tmp_path: Path) -> None:
    doc = config.flytekit_config(settings(tmp_path), STORE)
    assert doc["admin"] == {"endpoint": "dns:///127.0.0.1:30081", "insecure": True}
    assert doc["storage"]["connection"] == {"endpoint": "http://127.0.0.1:30002", "access-key": "AK",
                                            "secret-key": "SK"}


def test_users_image_rules_come_before_the_flytekit_rule(tmp_path: Path) -> None:
    mine = tmp_path / "kubelet.yaml"
    mine.write_text(yaml.safe_dump({"image_rules": [{"match": "my/image:*", "venv": "/opt/mine"}],
                                    "capacity": {"cpu": "4"}}))
    doc = config.kubelet_config(settings(tmp_path, kubelet_config=mine), tmp_path / "task-venv")
    assert doc["capacity"] == {"cpu": "4"}
    assert [r["match"] for r in doc["image_rules"]] == ["my/image:*", config.FLYTEKIT_IMAGES]
    assert doc["image_rules"][1]["venv"] == str(tmp_path / "task-venv")


@pytest.mark.parametrize("text", ["image_rules: [unclosed", "- just\n- a list\n", "image_rules: {a: b}\n"])
def test_a_bad_kubelet_config_is_one_line_not_a_traceback(tmp_path: Path, text: str) -> None:
    mine = tmp_path / "kubelet.yaml"
    mine.write_text(text)
    with pytest.raises(StartError) as err:
        config.kubelet_config(settings(tmp_path, kubelet_config=mine), tmp_path / "task-venv")
    assert "--kubelet-config" in str(err.value) and "\n" not in str(err.value)


def test_cluster_resource_templates_add_to_the_namespace_template(tmp_path: Path) -> None:
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "quota.yaml").write_text("kind: ResourceQuota\n")
    (extra / "notes.txt").write_text("not a template\n")
    s = settings(tmp_path / "data", cluster_resource_templates=extra)
    config.write_templates(s)
    assert sorted(p.name for p in s.templates_dir.iterdir()) == ["namespace.yaml", "quota.yaml"]
    assert "'{{ namespace }}'" in (s.templates_dir / "namespace.yaml").read_text()


def test_configs_holding_credentials_are_private(tmp_path: Path) -> None:
    path = config.write_yaml(tmp_path / "flyte.yaml", config.flyte_config(settings(tmp_path), DB, STORE))
    assert path.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("url", ["mysql://u@h/db", "postgres:///flyte", "postgres://h:notaport/db"])
def test_a_malformed_database_url_is_one_line(url: str) -> None:
    with pytest.raises(StartError) as err:
        Database.from_url(url)
    assert "\n" not in str(err.value)


def test_database_url_parts_reach_flyte() -> None:
    db = Database.from_url("postgres://flyte:s%40cret@db.local:6543/flytedb?sslmode=require")
    assert db.flyte_config() == {"postgres": {"host": "db.local", "port": 6543, "username": "flyte",
                                              "password": "s@cret", "dbname": "flytedb",
                                              "options": "sslmode=require"}}
