"""networking.k8s.io/v1 Ingresses, IngressClasses and NetworkPolicies: stored, defaulted and validated as
upstream does (pkg/apis/networking/validation), plus the DefaultIngressClass admission plugin. Nothing routes
traffic or enforces a policy here: kubeshim has no network of its own."""
from __future__ import annotations

import ipaddress
from typing import Any

from shim.machinery import errors, names, tables, validation
from shim.registry.strategy import Causes, NoStatusStrategy, Obj, Stored, Strategy

INGRESS_CLASSES = "networking.k8s.io/ingressclasses"
CLASS_ANNOTATION = "kubernetes.io/ingress.class"
DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"
_PATH_TYPES = ["Exact", "ImplementationSpecific", "Prefix"]
_BAD_PATH_SEQUENCES = ("//", "/./", "/../", "%2f", "%2F")
_BAD_PATH_SUFFIXES = ("/..", "/.")
_PROTOCOLS = ["TCP", "UDP", "SCTP"]
_POLICY_TYPES = ["Ingress", "Egress"]
_PARAMETER_SCOPES = ["Cluster", "Namespace"]


# ----- Ingress -----

def _validate_host(path: str, host: str) -> Causes:
    if "*" in host:
        return [errors.field_invalid(path, host, p) for p in validation.wildcard_dns1123_subdomain(host)]
    return [errors.field_invalid(path, host, p) for p in names.dns1123_subdomain(host)]


def _validate_typed_reference(path: str, ref: Obj) -> Causes:
    """validateIngressTypedLocalObjectReference (a resource backend, an IngressClass's parameters)."""
    causes: Causes = []
    if ref.get("apiGroup") is not None:
        causes += [errors.field_invalid(f"{path}.apiGroup", ref["apiGroup"], p)
                   for p in names.dns1123_subdomain(ref["apiGroup"])]
    for key in ("kind", "name"):
        value = ref.get(key) or ""
        if not value:
            causes.append(errors.field_required(f"{path}.{key}"))
        else:
            causes += [errors.field_invalid(f"{path}.{key}", value, p) for p in names.path_segment(value)]
    return causes


def _validate_backend(path: str, backend: Any) -> Causes:
    backend = backend if isinstance(backend, dict) else {}
    resource, service = backend.get("resource"), backend.get("service")
    if resource is not None and service is not None:
        return [errors.field_invalid(path, "", "cannot set both resource and service backends")]
    if resource is not None:
        return _validate_typed_reference(f"{path}.resource", resource)
    if service is None:
        return [errors.field_invalid(path, "", "resource or service backend is required")]
    causes: Causes = []
    name = service.get("name") or ""
    if not name:
        causes.append(errors.field_required(f"{path}.service.name"))
    else:
        causes += [errors.field_invalid(f"{path}.service.name", name, p) for p in validation.dns1035_label(name)]
    port = service.get("port") or {}
    port_name, number = port.get("name") or "", port.get("number") or 0
    if port_name and number:
        causes.append(errors.field_invalid(path, "", "cannot set both port name & port number"))
    elif port_name:
        causes += [errors.field_invalid(f"{path}.service.port.name", port_name, p)
                   for p in validation.port_name(port_name)]
    elif number:
        causes += [errors.field_invalid(f"{path}.service.port.number", number, p)
                   for p in validation.port_number(number)]
    else:
        causes.append(errors.field_required(path, "port name or number is required"))
    return causes


def _validate_path(path: str, http_path: Obj) -> Causes:
    path_type = http_path.get("pathType")
    if path_type is None:
        return [errors.field_required(f"{path}.pathType", "pathType must be specified")]
    value = http_path.get("path") or ""
    causes: Causes = []
    if path_type in ("Exact", "Prefix"):
        if not value.startswith("/"):
            causes.append(errors.field_invalid(f"{path}.path", value, "must be an absolute path"))
        if value:
            causes += [errors.field_invalid(f"{path}.path", value, f"must not contain '{seq}'")
                       for seq in _BAD_PATH_SEQUENCES if seq in value]
            causes += [errors.field_invalid(f"{path}.path", value, f"cannot end with '{suffix}'")
                       for suffix in _BAD_PATH_SUFFIXES if value.endswith(suffix)]
    elif path_type == "ImplementationSpecific":
        if value and not value.startswith("/"):
            causes.append(errors.field_invalid(f"{path}.path", value, "must be an absolute path"))
    else:
        causes.append(errors.field_not_supported(f"{path}.pathType", path_type, _PATH_TYPES))
    return causes + _validate_backend(f"{path}.backend", http_path.get("backend"))


def _validate_rules(rules: list[Any]) -> Causes:
    causes: Causes = []
    for i, rule in enumerate(rules):
        rule = rule if isinstance(rule, dict) else {}
        path = f"spec.rules[{i}]"
        host = rule.get("host") or ""
        if host:
            if validation.is_ip(host):
                causes.append(errors.field_invalid(f"{path}.host", host, "must be a DNS name, not an IP address"))
            causes += _validate_host(f"{path}.host", host)
        http = rule.get("http")
        if isinstance(http, dict):
            paths = http.get("paths") or []
            if not paths:
                causes.append(errors.field_required(f"{path}.http.paths"))
            for j, http_path in enumerate(paths):
                causes += _validate_path(f"{path}.http.paths[{j}]", http_path if isinstance(http_path, dict) else {})
    return causes


def validate_ingress_spec(spec: Obj) -> Causes:
    causes: Causes = []
    rules = spec.get("rules") or []
    if not rules and spec.get("defaultBackend") is None:
        causes.append(validation.invalid_rendered("spec", validation.go_json(spec.get("rules")),
                                                  "either `defaultBackend` or `rules` must be specified"))
    if spec.get("defaultBackend") is not None:
        causes += _validate_backend("spec.defaultBackend", spec["defaultBackend"])
    causes += _validate_rules(rules)
    for i, tls in enumerate(spec.get("tls") or []):
        tls = tls if isinstance(tls, dict) else {}
        for j, host in enumerate(tls.get("hosts") or []):
            causes += _validate_host(f"spec.tls[{i}].hosts[{j}]", host)
        secret = tls.get("secretName") or ""
        if secret:
            causes += [errors.field_invalid(f"spec.tls[{i}].secretName", secret, p)
                       for p in names.dns1123_subdomain(secret)]
    if spec.get("ingressClassName") is not None:
        causes += [errors.field_invalid("spec.ingressClassName", spec["ingressClassName"], p)
                   for p in names.dns1123_subdomain(spec["ingressClassName"])]
    return causes


def _load_balancer_address(status: Obj) -> str:
    """Upstream's ingressLoadBalancerStatusStringer, as the server prints it (wide: never cut)."""
    found = {i.get("ip") or i.get("hostname") for i in (status.get("loadBalancer") or {}).get("ingress") or []
             if i.get("ip") or i.get("hostname")}
    return ",".join(sorted(found))


def _hosts(rules: list[Obj]) -> str:
    """formatHosts: the first three hosts, then how many rules more."""
    shown: list[str] = []
    more = False
    for rule in rules:
        more = more or len(shown) == 3
        if not more and rule.get("host"):
            shown.append(rule["host"])
    if not shown:
        return "*"
    return ",".join(shown) + (f" + {len(rules) - 3} more..." if more else "")


def _default_ingress_class(stored: Stored) -> Obj | None:
    """The newest IngressClass annotated as the default (by name among equally new ones)."""
    defaults = [c for c in stored.items(INGRESS_CLASSES)
                if ((c.get("metadata") or {}).get("annotations") or {}).get(DEFAULT_CLASS_ANNOTATION) == "true"]
    if not defaults:
        return None
    newest = max(c["metadata"].get("creationTimestamp", "") for c in defaults)
    return min((c for c in defaults if c["metadata"].get("creationTimestamp", "") == newest),
               key=lambda c: c["metadata"]["name"])


class IngressStrategy(Strategy):
    has_status_subresource = True

    def prepare_for_create(self, obj: Obj) -> None:
        obj["status"] = {"loadBalancer": {}}

    def spec_changed(self, new: Obj, old: Obj) -> bool:
        return new.get("spec") != old.get("spec")

    def admit(self, obj: Obj, old: Obj | None, stored: Stored) -> None:
        """DefaultIngressClass: a new Ingress naming no class gets the default IngressClass, if there is one."""
        spec = obj.get("spec")
        annotations = obj["metadata"].get("annotations") or {}
        if old is not None or not isinstance(spec, dict) or spec.get("ingressClassName") is not None \
                or CLASS_ANNOTATION in annotations:
            return
        default = _default_ingress_class(stored)
        if default is not None:
            spec["ingressClassName"] = default["metadata"]["name"]

    def validate(self, obj: Obj) -> Causes:
        spec = obj.get("spec") or {}
        causes = validate_ingress_spec(spec)
        annotation = (obj["metadata"].get("annotations") or {}).get(CLASS_ANNOTATION)
        if annotation is not None and spec.get("ingressClassName") is not None \
                and annotation != spec["ingressClassName"]:
            causes.append(errors.field_invalid(f"annotations.{CLASS_ANNOTATION}", annotation,
                                               "must match `ingressClassName` when both are specified"))
        return causes

    def validate_update(self, new: Obj, old: Obj) -> Causes:
        return validate_ingress_spec(new.get("spec") or {})

    def validate_status_update(self, new: Obj, old: Obj) -> Causes:
        causes: Causes = []
        old_ips = [i.get("ip") for i in ((old.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []]
        ingress = ((new.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        for i, point in enumerate(ingress):
            path = f"status.loadBalancer.ingress[{i}]"
            if point.get("ip") and point["ip"] not in old_ips:
                causes += validation.ip(f"{path}.ip", point["ip"])
            hostname = point.get("hostname") or ""
            if hostname:
                causes += [errors.field_invalid(f"{path}.hostname", hostname, p)
                           for p in names.dns1123_subdomain(hostname)]
                if validation.is_ip(hostname):
                    causes.append(errors.field_invalid(f"{path}.hostname", hostname,
                                                       "must be a DNS name, not an IP address"))
        return causes

    def warnings(self, obj: Obj, old: Obj | None) -> list[str]:
        annotations = obj["metadata"].get("annotations") or {}
        if old is None and CLASS_ANNOTATION in annotations and (obj.get("spec") or {}).get("ingressClassName") is None:
            return [f'annotation "{CLASS_ANNOTATION}" is deprecated, please use \'spec.ingressClassName\' instead']
        return []

    def table_columns(self) -> list[dict[str, Any]]:
        return [tables.column("Class", description="The name of the IngressClass resource that should be used for "
                              "additional configuration"),
                tables.column("Hosts", description="Hosts that incoming requests are matched against before the "
                              "ingress rule"),
                tables.column("Address", description="Address is a list containing ingress points for the "
                              "load-balancer"),
                tables.column("Ports", description="Ports of TLS configurations that open")]

    def table_cells(self, obj: Obj) -> list[Any]:
        spec = obj.get("spec") or {}
        return [spec.get("ingressClassName") or "<none>", _hosts(spec.get("rules") or []),
                _load_balancer_address(obj.get("status") or {}), "80, 443" if spec.get("tls") else "80"]


# ----- IngressClass -----

def _validate_parameters(params: Any) -> Causes:
    if not isinstance(params, dict):
        return []
    path = "spec.parameters"
    causes = _validate_typed_reference(path, params)
    scope = params.get("scope")
    if scope is None:
        return causes + [errors.field_required(f"{path}.scope")]
    if scope not in _PARAMETER_SCOPES:
        return causes + [errors.field_not_supported(f"{path}.scope", scope, _PARAMETER_SCOPES)]
    namespace = params.get("namespace")
    if scope == "Namespace":
        if namespace is None:
            causes.append(errors.field_required(f"{path}.namespace", "`parameters.scope` is set to 'Namespace'"))
        else:
            causes += [errors.field_invalid(f"{path}.namespace", namespace, p)
                       for p in validation.dns1123_label(namespace)]
    elif namespace is not None:
        causes.append(errors.field_forbidden(f"{path}.namespace", "`parameters.scope` is set to 'Cluster'"))
    return causes


class IngressClassStrategy(NoStatusStrategy):
    tracks_generation = True

    def prepare_for_create(self, obj: Obj) -> None:
        self._default(obj)

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        self._default(new)

    @staticmethod
    def _default(obj: Obj) -> None:
        params = (obj.get("spec") or {}).get("parameters")
        if isinstance(params, dict):
            params.setdefault("scope", "Cluster")

    def spec_changed(self, new: Obj, old: Obj) -> bool:
        return new.get("spec") != old.get("spec")

    def validate(self, obj: Obj) -> Causes:
        spec = obj.get("spec") or {}
        controller = spec.get("controller") or ""
        causes: Causes = []
        if len(controller) > 250:
            causes.append(errors.field_too_long("spec.controller", "", 250))
        causes += validation.domain_prefixed_path("spec.controller", controller)
        return causes + _validate_parameters(spec.get("parameters"))

    def validate_update(self, new: Obj, old: Obj) -> Causes:
        return validation.immutable("spec.controller", (new.get("spec") or {}).get("controller", ""),
                                    (old.get("spec") or {}).get("controller", "")) + self.validate(new)

    def table_columns(self) -> list[dict[str, Any]]:
        return [tables.column("Controller", description="Controller that is responsible for handling this class"),
                tables.column("Parameters", description="A reference to a resource with additional parameters")]

    def table_cells(self, obj: Obj) -> list[Any]:
        spec = obj.get("spec") or {}
        params = spec.get("parameters")
        shown = "<none>"
        if isinstance(params, dict):
            group = f".{params['apiGroup']}" if params.get("apiGroup") is not None else ""
            shown = f"{params.get('kind', '')}{group}/{params.get('name', '')}"
        return [spec.get("controller", ""), shown]


# ----- NetworkPolicy -----

def _validate_port(path: str, port: Obj) -> Causes:
    causes: Causes = []
    protocol = port.get("protocol")
    if protocol is not None and protocol not in _PROTOCOLS:
        causes.append(errors.field_not_supported(f"{path}.protocol", protocol, _PROTOCOLS))
    number, end = port.get("port"), port.get("endPort")
    if number is None:
        if end is not None:
            causes.append(errors.field_invalid(f"{path}.endPort", end, "may not be specified when `port` is not "
                                                                       "specified"))
    elif isinstance(number, int):
        causes += [errors.field_invalid(f"{path}.port", number, p) for p in validation.port_number(number)]
        if end is not None:
            if end < number:
                causes.append(errors.field_invalid(f"{path}.endPort", number,
                                                   "must be greater than or equal to `port`"))
            causes += [errors.field_invalid(f"{path}.endPort", end, p) for p in validation.port_number(end)]
    else:
        if end is not None:
            causes.append(errors.field_invalid(f"{path}.endPort", end, "may not be specified when `port` is "
                                                                       "non-numeric"))
        causes += [errors.field_invalid(f"{path}.port", number, p) for p in validation.port_name(str(number))]
    return causes


def _validate_ip_block(path: str, block: Obj) -> Causes:
    cidr = block.get("cidr") or ""
    if not cidr:
        return [errors.field_required(f"{path}.cidr")]
    causes = validation.cidr(f"{path}.cidr", cidr)
    if causes:
        return causes
    network = ipaddress.ip_network(cidr, strict=False)
    for i, except_cidr in enumerate(block.get("except") or []):
        problems = validation.cidr(f"{path}.except[{i}]", except_cidr)
        if problems:
            causes += problems
            continue
        excepted = ipaddress.ip_network(except_cidr, strict=False)
        if excepted.network_address not in network or excepted.prefixlen <= network.prefixlen:
            causes.append(errors.field_invalid(f"{path}.except[{i}]", except_cidr,
                                               "must be a strict subset of `cidr`"))
    return causes


def _validate_peer(path: str, peer: Obj) -> Causes:
    causes: Causes = []
    count = 0
    for key in ("podSelector", "namespaceSelector"):
        if peer.get(key) is not None:
            count += 1
            causes += validation.label_selector(f"{path}.{key}", peer[key])
    if peer.get("ipBlock") is not None:
        count += 1
        causes += _validate_ip_block(f"{path}.ipBlock", peer["ipBlock"])
    if count == 0:
        causes.append(errors.field_required(path, "must specify a peer"))
    elif count > 1 and peer.get("ipBlock") is not None:
        causes.append(errors.field_forbidden(path, "may not specify both ipBlock and another peer"))
    return causes


def _cidr_warnings(path: str, value: str) -> list[str]:
    """GetWarningsForCIDR: a CIDR with bits set past its prefix is ambiguous."""
    try:
        network = ipaddress.ip_network(value, strict=False)
        address = ipaddress.ip_address(value.split("/", 1)[0])
    except ValueError:
        return []
    if address == network.network_address:
        return []
    return [f'{path}: CIDR value "{value}" is ambiguous in this context (should be "{network}" or '
            f'"{address}/{network.max_prefixlen}"?)']


class NetworkPolicyStrategy(NoStatusStrategy):
    tracks_generation = True

    def prepare_for_create(self, obj: Obj) -> None:
        self._default(obj)

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        self._default(new)

    @staticmethod
    def _default(obj: Obj) -> None:
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return
        for direction in ("ingress", "egress"):
            for rule in spec.get(direction) or []:
                for port in (rule or {}).get("ports") or []:
                    if isinstance(port, dict):
                        port.setdefault("protocol", "TCP")
        if not spec.get("policyTypes"):
            spec["policyTypes"] = ["Ingress", "Egress"] if spec.get("egress") else ["Ingress"]

    def spec_changed(self, new: Obj, old: Obj) -> bool:
        return new.get("spec") != old.get("spec")

    def validate(self, obj: Obj) -> Causes:
        spec = obj.get("spec") or {}
        causes = validation.label_selector("spec.podSelector", spec.get("podSelector"))
        for direction, peers in (("ingress", "from"), ("egress", "to")):
            for i, rule in enumerate(spec.get(direction) or []):
                rule = rule if isinstance(rule, dict) else {}
                for j, port in enumerate(rule.get("ports") or []):
                    causes += _validate_port(f"spec.{direction}[{i}].ports[{j}]", port if isinstance(port, dict)
                                             else {})
                for j, peer in enumerate(rule.get(peers) or []):
                    causes += _validate_peer(f"spec.{direction}[{i}].{peers}[{j}]", peer if isinstance(peer, dict)
                                             else {})
        policy_types = spec.get("policyTypes") or []
        if len(policy_types) > len(_POLICY_TYPES):
            return causes + [validation.invalid_rendered("spec.policyTypes", validation.go_json(policy_types),
                                                         "may not specify more than two policyTypes")]
        for i, kind in enumerate(policy_types):
            if kind not in _POLICY_TYPES:
                causes.append(errors.field_not_supported(f"spec.policyTypes[{i}]", kind, _POLICY_TYPES))
        return causes

    def validate_update(self, new: Obj, old: Obj) -> Causes:
        """Upstream validates the spec twice on update (ValidateNetworkPolicy, then ValidateNetworkPolicyUpdate),
        so each problem is reported twice."""
        causes = self.validate(new)
        return causes + causes

    def warnings(self, obj: Obj, old: Obj | None) -> list[str]:
        spec = obj.get("spec") or {}
        out: list[str] = []
        for direction, peers in (("ingress", "from"), ("egress", "to")):
            for i, rule in enumerate(spec.get(direction) or []):
                for j, peer in enumerate((rule or {}).get(peers) or []):
                    block = (peer or {}).get("ipBlock")
                    if not isinstance(block, dict):
                        continue
                    path = f"spec.{direction}[{i}].{peers}[{j}].ipBlock"
                    out += _cidr_warnings(f"{path}.cidr", block.get("cidr") or "")
                    for k, excepted in enumerate(block.get("except") or []):
                        out += _cidr_warnings(f"{path}.except[{k}]", excepted)
        return out

    def table_columns(self) -> list[dict[str, Any]]:
        # upstream describes the column with the podSelector doc of extensions/v1beta1, not networking/v1
        return [tables.column("Pod-Selector", description=(
            "Selects the pods to which this NetworkPolicy object applies.  The array of ingress rules is applied to "
            "any pods selected by this field. Multiple network policies can select the same set of pods.  In this "
            "case, the ingress rules for each are combined additively. This field is NOT optional and follows "
            "standard label selector semantics. An empty podSelector matches all pods in this namespace."))]

    def table_cells(self, obj: Obj) -> list[Any]:
        return [validation.format_label_selector((obj.get("spec") or {}).get("podSelector") or {})]
