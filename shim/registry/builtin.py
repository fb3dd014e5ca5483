"""The built-in resources kubeshim serves, each with its strategy and subresources (pkg/registry in upstream)."""
from __future__ import annotations

from shim.registry.kinds.admissionpolicies import (ValidatingAdmissionPolicyBindingStrategy,
                                                   ValidatingAdmissionPolicyStrategy)
from shim.registry.kinds.apiregistration import APIServiceStrategy
from shim.registry.kinds.apps import (ControllerRevisionStrategy, DaemonSetStrategy, DeploymentStrategy,
                                     ReplicaSetStrategy, StatefulSetStrategy)
from shim.registry.kinds.autoscaling import (HorizontalPodAutoscalerStrategy, HorizontalPodAutoscalerV1Strategy,
                                            to_v1, to_v2)
from shim.registry.kinds.batch import CronJobStrategy, JobStrategy
from shim.registry.kinds.configdata import ConfigMapStrategy, SecretStrategy
from shim.registry.kinds.crds import CRDStrategy
from shim.registry.kinds.endpointslices import EndpointSliceStrategy
from shim.registry.kinds.events import EventStrategy, EventsV1Strategy, from_core, to_core
from shim.registry.kinds.flowcontrol import FlowSchemaStrategy, PriorityLevelConfigurationStrategy
from shim.registry.kinds.metrics import NodeMetricsStrategy, PodMetricsStrategy
from shim.registry.kinds.namespaces import NamespaceStrategy
from shim.registry.kinds.networking import IngressClassStrategy, IngressStrategy, NetworkPolicyStrategy
from shim.registry.kinds.node import RuntimeClassStrategy
from shim.registry.kinds.nodes import NodeStrategy
from shim.registry.kinds.pods import PodStrategy
from shim.registry.kinds.policy import PodDisruptionBudgetStrategy
from shim.registry.kinds.replicationcontrollers import ReplicationControllerStrategy
from shim.registry.kinds.scheduling import PriorityClassStrategy
from shim.registry.kinds.services import ServiceStrategy
from shim.registry.kinds.simple import (ClaimStrategy, LeaseStrategy, PathSegmentNamed, ReturnsDeletedObject,
                                        ServiceAccountStrategy, StatusStrategy, WebhookConfigurationStrategy)
from shim.registry.resource import ALL_VERBS, ResourceInfo
from shim.registry.strategy import NoStatusStrategy
from shim.registry.subresource import handlers
from shim.registry.subresources.attach import Attach
from shim.registry.subresources.binding import Binding
from shim.registry.subresources.ephemeralcontainers import EphemeralContainers
from shim.registry.subresources.eviction import Eviction
from shim.registry.subresources.exec import Exec
from shim.registry.subresources.finalize import Finalize
from shim.registry.subresources.log import Log
from shim.registry.subresources.metrics import NodeMetrics, PodMetrics
from shim.registry.subresources.portforward import PortForwardHandler
from shim.registry.subresources.proxy import NodeProxy, PodProxy, ServiceProxy
from shim.registry.subresources.reviews import AccessReview, TokenReview
from shim.registry.subresources.scale import Scale
from shim.registry.subresources.status import Status
from shim.registry.subresources.token import Token


def builtin_resources() -> list[ResourceInfo]:
    R = ResourceInfo
    status = handlers(Status())
    scaled = handlers(Status(), Scale())
    return [
        R("", "v1", "namespaces", "namespace", "Namespace", False, NamespaceStrategy(), ("ns",),
          verbs=tuple(v for v in ALL_VERBS if v != "deletecollection"), subresources=handlers(Status(), Finalize())),
        R("", "v1", "pods", "pod", "Pod", True, PodStrategy(), ("po",), ("all",),
          subresources=handlers(Status(), Log(), Binding(), Eviction(), EphemeralContainers(), Exec(),
                                Attach(), PortForwardHandler(), PodProxy())),
        R("", "v1", "bindings", "binding", "Binding", True, NoStatusStrategy(), handler=Binding()),
        R("", "v1", "configmaps", "configmap", "ConfigMap", True, ConfigMapStrategy(), ("cm",)),
        R("", "v1", "secrets", "secret", "Secret", True, SecretStrategy()),
        R("", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", True, ServiceAccountStrategy(), ("sa",),
          subresources=handlers(Token())),
        R("", "v1", "services", "service", "Service", True, ServiceStrategy(), ("svc",), ("all",),
          subresources=handlers(Status(), ServiceProxy())),
        R("", "v1", "endpoints", "endpoints", "Endpoints", True, NoStatusStrategy(), ("ep",)),
        R("discovery.k8s.io", "v1", "endpointslices", "endpointslice", "EndpointSlice", True,
          EndpointSliceStrategy()),
        R("", "v1", "events", "event", "Event", True, EventStrategy(), ("ev",)),
        R("", "v1", "resourcequotas", "resourcequota", "ResourceQuota", True, StatusStrategy(), ("quota",),
          subresources=status),
        R("", "v1", "limitranges", "limitrange", "LimitRange", True, NoStatusStrategy(), ("limits",)),
        R("", "v1", "replicationcontrollers", "replicationcontroller", "ReplicationController", True,
          ReplicationControllerStrategy(), ("rc",), ("all",), subresources=scaled),
        R("", "v1", "podtemplates", "podtemplate", "PodTemplate", True, ReturnsDeletedObject()),
        R("", "v1", "nodes", "node", "Node", False, NodeStrategy(), ("no",),
          subresources=handlers(Status(), NodeProxy())),
        R("", "v1", "persistentvolumeclaims", "persistentvolumeclaim", "PersistentVolumeClaim", True,
          ClaimStrategy(), ("pvc",), subresources=status),
        R("", "v1", "persistentvolumes", "persistentvolume", "PersistentVolume", False, StatusStrategy(), ("pv",),
          subresources=status),
        R("coordination.k8s.io", "v1", "leases", "lease", "Lease", True, LeaseStrategy()),
        R("events.k8s.io", "v1", "events", "event", "Event", True, EventsV1Strategy(), ("ev",),
          storage="/events", to_storage=to_core, from_storage=from_core, storage_version="v1"),
        R("apiextensions.k8s.io", "v1", "customresourcedefinitions", "customresourcedefinition",
          "CustomResourceDefinition", False, CRDStrategy(), ("crd", "crds"), ("api-extensions",),
          subresources=status, storage_version="apiextensions.k8s.io/v1beta1"),  # upstream's legacy encoding
        R("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", "mutatingwebhookconfiguration",
          "MutatingWebhookConfiguration", False, WebhookConfigurationStrategy(), categories=("api-extensions",)),
        R("admissionregistration.k8s.io", "v1", "validatingadmissionpolicies", "validatingadmissionpolicy",
          "ValidatingAdmissionPolicy", False, ValidatingAdmissionPolicyStrategy(), categories=("api-extensions",),
          subresources=status),
        R("admissionregistration.k8s.io", "v1", "validatingadmissionpolicybindings",
          "validatingadmissionpolicybinding", "ValidatingAdmissionPolicyBinding", False,
          ValidatingAdmissionPolicyBindingStrategy(), categories=("api-extensions",)),
        R("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations",
          "validatingwebhookconfiguration", "ValidatingWebhookConfiguration", False,
          WebhookConfigurationStrategy(), categories=("api-extensions",)),
        R("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "selfsubjectaccessreview",
          "SelfSubjectAccessReview", False, NoStatusStrategy(), handler=AccessReview()),
        R("authorization.k8s.io", "v1", "subjectaccessreviews", "subjectaccessreview", "SubjectAccessReview", False,
          NoStatusStrategy(), handler=AccessReview()),
        R("authentication.k8s.io", "v1", "selfsubjectreviews", "selfsubjectreview", "SelfSubjectReview", False,
          NoStatusStrategy(), handler=AccessReview()),
        R("authentication.k8s.io", "v1", "tokenreviews", "tokenreview", "TokenReview", False, NoStatusStrategy(),
          handler=TokenReview()),
        R("rbac.authorization.k8s.io", "v1", "roles", "role", "Role", True, PathSegmentNamed()),
        R("rbac.authorization.k8s.io", "v1", "rolebindings", "rolebinding", "RoleBinding", True, PathSegmentNamed()),
        R("rbac.authorization.k8s.io", "v1", "clusterroles", "clusterrole", "ClusterRole", False,
          PathSegmentNamed()),
        R("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "clusterrolebinding", "ClusterRoleBinding",
          False, PathSegmentNamed()),
        R("scheduling.k8s.io", "v1", "priorityclasses", "priorityclass", "PriorityClass", False,
          PriorityClassStrategy(), ("pc",)),
        R("policy", "v1", "poddisruptionbudgets", "poddisruptionbudget", "PodDisruptionBudget", True,
          PodDisruptionBudgetStrategy(), ("pdb",), subresources=status),
        R("apps", "v1", "deployments", "deployment", "Deployment", True, DeploymentStrategy(), ("deploy",), ("all",),
          subresources=scaled),
        R("apps", "v1", "replicasets", "replicaset", "ReplicaSet", True, ReplicaSetStrategy(), ("rs",), ("all",),
          subresources=scaled),
        R("apps", "v1", "statefulsets", "statefulset", "StatefulSet", True, StatefulSetStrategy(), ("sts",),
          ("all",), subresources=scaled),
        R("apps", "v1", "daemonsets", "daemonset", "DaemonSet", True, DaemonSetStrategy(), ("ds",), ("all",),
          subresources=status),
        R("apps", "v1", "controllerrevisions", "controllerrevision", "ControllerRevision", True,
          ControllerRevisionStrategy()),
        R("autoscaling", "v1", "horizontalpodautoscalers", "horizontalpodautoscaler", "HorizontalPodAutoscaler", True,
          HorizontalPodAutoscalerV1Strategy(), ("hpa",), ("all",), subresources=status, to_storage=to_v2,
          from_storage=to_v1, storage_version="autoscaling/v2"),
        R("autoscaling", "v2", "horizontalpodautoscalers", "horizontalpodautoscaler", "HorizontalPodAutoscaler", True,
          HorizontalPodAutoscalerStrategy(), ("hpa",), ("all",), subresources=status),
        R("batch", "v1", "jobs", "job", "Job", True, JobStrategy(), (), ("all",), subresources=status),
        R("batch", "v1", "cronjobs", "cronjob", "CronJob", True, CronJobStrategy(), ("cj",), ("all",),
          subresources=status),
        R("networking.k8s.io", "v1", "ingressclasses", "ingressclass", "IngressClass", False, IngressClassStrategy()),
        R("networking.k8s.io", "v1", "ingresses", "ingress", "Ingress", True, IngressStrategy(), ("ing",),
          subresources=status),
        R("networking.k8s.io", "v1", "networkpolicies", "networkpolicy", "NetworkPolicy", True,
          NetworkPolicyStrategy(), ("netpol",)),
        R("node.k8s.io", "v1", "runtimeclasses", "runtimeclass", "RuntimeClass", False, RuntimeClassStrategy()),
        R("flowcontrol.apiserver.k8s.io", "v1", "flowschemas", "flowschema", "FlowSchema", False,
          FlowSchemaStrategy(), subresources=status),
        R("flowcontrol.apiserver.k8s.io", "v1", "prioritylevelconfigurations", "prioritylevelconfiguration",
          "PriorityLevelConfiguration", False, PriorityLevelConfigurationStrategy(), subresources=status),
        R("metrics.k8s.io", "v1beta1", "nodes", "", "NodeMetrics", False, NodeMetricsStrategy(), handler=NodeMetrics()),
        R("metrics.k8s.io", "v1beta1", "pods", "", "PodMetrics", True, PodMetricsStrategy(), handler=PodMetrics()),
        R("apiregistration.k8s.io", "v1", "apiservices", "apiservice", "APIService", False, APIServiceStrategy(),
          categories=("api-extensions",), subresources=status),
    ]


