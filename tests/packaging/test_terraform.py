"""Terraform packaging tests: format, structure, security invariants and a checkov scan.

Providers cannot be downloaded here, so `terraform init/validate/plan` cannot run from the
registry. What can run offline runs for real: `terraform fmt` and `terraform console` (the
real HCL evaluator, for the lifecycle arithmetic), python-hcl2 to read every module, checkov
over the whole tree, `helm template` of the chart with the values the GPU module passes, and
the modules' `terraform test` plan tests where a local provider mirror has the providers.
Tools come from tests/packaging/install-tf-tools.sh (helm from install-tools.sh).
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import shutil
import subprocess
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

hcl2 = pytest.importorskip("hcl2", reason="python-hcl2 missing: pip install -e '.[dev]'")

pytestmark = pytest.mark.packaging

REPO = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = REPO / "terraform"
MODULES = TERRAFORM_DIR / "modules"
EXAMPLES = TERRAFORM_DIR / "examples"
CHART_VALUES = REPO / "helm" / "headroom-gateway" / "values.yaml"
CONTRACT = REPO / "tests" / "CONTRACT.md"
TOOLS = Path(os.environ.get("HEADROOM_TOOLS_DIR", REPO / ".tools"))
INSTALL_HINT = "run tests/packaging/install-tf-tools.sh (make test does)"

MODULE_NAMES = ("shared-state", "lambda", "eks-gpu-pool")
# The modules that consume shared state as one input object (modules/shared-state's
# `connection` output), composed with it in the examples.
CONSUMERS = ("lambda", "eks-gpu-pool")
EXAMPLE_NAMES = ("lambda", "eks-gpu-pool", "managed-shared")

# What the Helm chart's mode: service schedules onto (nodeSelector + GPU toleration).
CHART_NODE_SELECTOR = {"headroom.ai/pool": "gpu"}
CHART_GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
# The values aws_cloudwatch_log_group.retention_in_days accepts (0 = never expire, excluded).
# fmt: off
CLOUDWATCH_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096,
                             1827, 2192, 2557, 2922, 3288, 3653)
# fmt: on
# EKS API taint effects -> Kubernetes taint effects.
EKS_TAINT_EFFECTS = {
    "NO_SCHEDULE": "NoSchedule",
    "NO_EXECUTE": "NoExecute",
    "PREFER_NO_SCHEDULE": "PreferNoSchedule",
}


# --------------------------------------------------------------------------------------------
# Tools
# --------------------------------------------------------------------------------------------


def _tool(name: str, local: Path) -> str | None:
    """The copy install-tf-tools.sh put under .tools/, else one on PATH."""
    if local.exists() and os.access(local, os.X_OK):
        return str(local)
    return shutil.which(name)


TERRAFORM = _tool("terraform", TOOLS / "bin" / "terraform")
CHECKOV = _tool("checkov", TOOLS / "checkov-venv" / "bin" / "checkov")


def _tool_env() -> dict[str, str]:
    """No update checks, no CLI config, no platform calls: these tools must stay offline."""
    env = dict(os.environ)
    env.update(
        CHECKPOINT_DISABLE="1",
        TF_CLI_CONFIG_FILE=os.devnull,
        TF_IN_AUTOMATION="1",
        BC_SKIP_MAPPING="TRUE",
        CHECKOV_RUN_SCA_PACKAGE_SCAN_V2="false",
        LOG_LEVEL="WARNING",
    )
    return env


def _run(
    args: list[str],
    *,
    cwd: Path = REPO,
    stdin: str | None = None,
    timeout: int = 300,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**_tool_env(), **(env or {})},
        check=False,
    )


needs_terraform = pytest.mark.skipif(TERRAFORM is None, reason=f"terraform missing: {INSTALL_HINT}")


# --------------------------------------------------------------------------------------------
# HCL reading (python-hcl2 4.x returns bare strings; 7.x+ keeps quotes and adds __markers__)
# --------------------------------------------------------------------------------------------


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return text[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return text


def _plain(node: Any) -> Any:
    """The same tree whatever python-hcl2 version parsed it: literals unquoted, no markers."""
    if isinstance(node, dict):
        return {_unquote(k): _plain(v) for k, v in node.items() if not k.startswith("__")}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, str):
        return _unquote(node)
    return node


def _squash(expr: Any) -> str:
    """An expression without whitespace or quote style (python-hcl2 4.x renders list
    literals inside expressions with single quotes), for comparing expressions."""
    return re.sub(r"\s+", "", str(expr)).replace("'", '"')


def _bare(expr: Any) -> str:
    """An expression with interpolation markers and quotes dropped too: python-hcl2 versions
    disagree on where they put `${...}` inside lists."""
    return re.sub(r'\$\{|\}|"', "", _squash(expr))


class Config:
    """All .tf files of one Terraform directory, merged the way Terraform merges them."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.files: dict[str, dict[str, Any]] = {}
        for path in sorted(directory.glob("*.tf")):
            with path.open(encoding="utf-8") as handle:
                self.files[path.name] = _plain(hcl2.load(handle))

    def blocks(self, kind: str) -> Iterator[dict[str, Any]]:
        for parsed in self.files.values():
            yield from parsed.get(kind, [])

    def variables(self) -> dict[str, dict[str, Any]]:
        return {name: body for block in self.blocks("variable") for name, body in block.items()}

    def outputs(self) -> dict[str, dict[str, Any]]:
        return {name: body for block in self.blocks("output") for name, body in block.items()}

    def locals(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for block in self.blocks("locals"):
            merged.update(block)
        return merged

    def modules(self) -> dict[str, dict[str, Any]]:
        return {name: body for block in self.blocks("module") for name, body in block.items()}

    def _typed(self, kind: str) -> dict[tuple[str, str], dict[str, Any]]:
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for block in self.blocks(kind):
            for rtype, named in block.items():
                for name, body in named.items():
                    found[(rtype, name)] = body
        return found

    def resources(self, rtype: str | None = None) -> dict[tuple[str, str], dict[str, Any]]:
        return {k: v for k, v in self._typed("resource").items() if rtype in (None, k[0])}

    def data(self, dtype: str | None = None) -> dict[tuple[str, str], dict[str, Any]]:
        return {k: v for k, v in self._typed("data").items() if dtype in (None, k[0])}

    def resource(self, rtype: str, name: str = "this") -> dict[str, Any]:
        found = self.resources(rtype)
        assert (rtype, name) in found, f"{self.directory.name}: no {rtype}.{name}"
        return found[(rtype, name)]

    def resolve(self, expr: Any) -> Any:
        """Follow `${local.a.b}` references (chains too) to the literal they name."""
        for _ in range(10):
            match = isinstance(expr, str) and re.fullmatch(r"\$\{local\.([\w.]+)\}", expr)
            if not match:
                return expr
            value: Any = self.locals()
            for part in match.group(1).split("."):
                value = value[part]
            expr = value
        return expr


@functools.cache
def config(directory: Path) -> Config:
    return Config(directory)


def module(name: str) -> Config:
    return config(MODULES / name)


def all_dirs() -> list[Path]:
    return [MODULES / m for m in MODULE_NAMES] + [EXAMPLES / e for e in EXAMPLE_NAMES]


def _block(body: dict[str, Any], name: str) -> dict[str, Any]:
    """The single nested block `name` of a resource (hcl2 gives blocks as lists)."""
    value = body.get(name)
    assert isinstance(value, list) and len(value) == 1, f"expected one {name} block"
    assert isinstance(value[0], dict)
    return value[0]


DIR_IDS = [str(p.relative_to(TERRAFORM_DIR)) for p in all_dirs()]


# --------------------------------------------------------------------------------------------
# Layout and conventions
# --------------------------------------------------------------------------------------------


def test_every_module_and_example_exists_with_the_standard_files() -> None:
    for directory in all_dirs():
        for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf"):
            assert (directory / name).is_file(), f"{directory.relative_to(REPO)}/{name} missing"


@pytest.mark.parametrize("directory", all_dirs(), ids=DIR_IDS)
def test_every_variable_has_a_type_and_a_description(directory: Path) -> None:
    variables = config(directory).variables()
    assert variables, f"{directory.name}: no variables"
    for name, body in variables.items():
        assert body.get("type"), f"{directory.name}: variable {name} has no type"
        assert "any" not in _squash(body["type"]), f"{directory.name}: {name} uses any"
        description = body.get("description", "")
        assert isinstance(description, str) and description.strip(), (
            f"{directory.name}: variable {name} has no description"
        )


@pytest.mark.parametrize("directory", all_dirs(), ids=DIR_IDS)
def test_every_output_has_a_description(directory: Path) -> None:
    for name, body in config(directory).outputs().items():
        assert str(body.get("description", "")).strip(), f"{directory.name}: output {name}"


@pytest.mark.parametrize("name", MODULE_NAMES)
def test_outputs_of_counted_resources_are_wrapped_in_try(name: str) -> None:
    """`x[0].attr` fails when the resource is toggled off; modules return null instead."""
    for output, body in module(name).outputs().items():
        value = _squash(body["value"])
        if re.search(r"\b(aws|helm|kubernetes)_\w+\.\w+\[0\]", value):
            assert value.startswith("${try("), f"{name}: output {output} not wrapped in try()"


@pytest.mark.parametrize("directory", all_dirs(), ids=DIR_IDS)
def test_versions_tf_pins_terraform_and_every_provider(directory: Path) -> None:
    parsed = config(directory).files.get("versions.tf")
    assert parsed, f"{directory.name}: versions.tf missing or empty"
    terraform = parsed["terraform"][0]
    assert terraform.get("required_version", "").startswith(">="), "required_version not set"
    providers: dict[str, Any] = {}
    for block in terraform["required_providers"]:
        providers.update(block)
    assert providers, "required_providers is empty"
    for name, spec in providers.items():
        assert spec.get("source") == f"hashicorp/{name}", f"{name}: unexpected source"
        version = spec.get("version", "")
        # Pinned = bounded above, by ~> or an explicit <.
        assert "~>" in version or "<" in version, f"{name}: version {version!r} not pinned"
    used = {rtype.split("_", 1)[0] for rtype, _ in config(directory).resources()}
    used |= {dtype.split("_", 1)[0] for dtype, _ in config(directory).data()}
    assert used <= set(providers), f"{directory.name}: providers used but not required"


# modules/lambda is split by concern, as terraform-aws-modules lay theirs out.
LAMBDA_FILES = {
    "main.tf": {"aws_lambda_function", "aws_s3_object"},
    "iam.tf": {"aws_iam_role", "aws_iam_role_policy", "aws_iam_role_policy_attachment"},
    "network.tf": {
        "aws_security_group",
        "aws_vpc_security_group_egress_rule",
        "aws_vpc_endpoint",
    },
    "logs.tf": {"aws_cloudwatch_log_group"},
    "function_url.tf": {"aws_lambda_function_url", "aws_lambda_permission"},
    "http_api.tf": {
        "aws_apigatewayv2_api",
        "aws_apigatewayv2_integration",
        "aws_apigatewayv2_authorizer",
        "aws_apigatewayv2_route",
        "aws_apigatewayv2_stage",
        "aws_lambda_permission",
    },
}


def test_lambda_module_is_split_by_concern() -> None:
    cfg = module("lambda")
    for filename, expected in LAMBDA_FILES.items():
        assert filename in cfg.files, f"modules/lambda/{filename} missing"
        found = {rtype for block in cfg.files[filename].get("resource", []) for rtype in block}
        assert found == expected, f"{filename}: {sorted(found ^ expected)}"
    unexpected = set(cfg.files) - set(LAMBDA_FILES) - {"variables.tf", "outputs.tf", "versions.tf"}
    assert not unexpected, f"unplanned files: {unexpected}"


def test_main_resources_are_named_this() -> None:
    mains = {
        "shared-state": ["aws_elasticache_serverless_cache", "aws_s3_bucket"],
        "lambda": ["aws_lambda_function", "aws_cloudwatch_log_group", "aws_iam_role"],
        "eks-gpu-pool": ["aws_eks_node_group", "aws_launch_template", "helm_release"],
    }
    for name, rtypes in mains.items():
        for rtype in rtypes:
            module(name).resource(rtype, "this")


CONSTRAINED_INPUTS = {
    "shared-state": [
        "name",
        "ccr_ttl_seconds",
        "sse_algorithm",
        "redis_engine",
        "s3_prefix",
        "redis_cache_usage_limits",
        "kms_key_deletion_window_in_days",
    ],
    "lambda": [
        "name",
        "package_type",
        "architecture",
        "runtime",
        "front_door",
        "memory_size",
        "timeout",
        "cloudwatch_logs_retention_in_days",
        "kompress",
        "http_api_authorizer",
        "reserved_concurrent_executions",
        "function_url_invoke_principals",
        "shared_state",
    ],
    "eks-gpu-pool": [
        "name",
        "ami_type",
        "instance_types",
        "capacity_type",
        "scaling",
        "metadata_http_put_response_hop_limit",
        "disk",
        "taints",
        "replicas",
        "token_secret_name",
        "shared_state",
    ],
}


@pytest.mark.parametrize("name", MODULE_NAMES)
def test_constrained_inputs_have_validations(name: str) -> None:
    variables = module(name).variables()
    for var in CONSTRAINED_INPUTS[name]:
        assert variables[var].get("validation"), f"{name}: variable {var} has no validation"


def _validation_text(name: str, var: str) -> str:
    return " ".join(_squash(v["condition"]) for v in module(name).variables()[var]["validation"])


def test_enumerated_inputs_allow_exactly_the_documented_values() -> None:
    assert '["x86_64","arm64"]' in _validation_text("lambda", "architecture")
    assert '["function_url","http_api"]' in _validation_text("lambda", "front_door")
    assert '["Zip","Image"]' in _validation_text("lambda", "package_type")
    assert '["aws:kms","AES256"]' in _validation_text("shared-state", "sse_algorithm")
    assert '["valkey","redis"]' in _validation_text("shared-state", "redis_engine")
    ami = _validation_text("eks-gpu-pool", "ami_type")
    allowed = set(re.findall(r'"([A-Z0-9_]+)"', ami))
    assert allowed and all("NVIDIA" in a or a.endswith("_GPU") for a in allowed), allowed
    assert module("eks-gpu-pool").variables()["ami_type"]["default"] == "AL2023_x86_64_NVIDIA"
    assert module("eks-gpu-pool").variables()["instance_types"]["default"] == ["g5.xlarge"]
    assert "length(var.instance_types)>0" in _validation_text("eks-gpu-pool", "instance_types")
    assert "var.ccr_ttl_seconds>0" in _validation_text("shared-state", "ccr_ttl_seconds")
    for name in CONSUMERS:
        # The consumers check what they are given too: it may not come from shared-state.
        text = _validation_text(name, "shared_state")
        assert "var.shared_state.ccr_ttl_seconds>0" in text
        assert '["aws:kms","AES256"]' in text
        assert "^rediss?://" in text


def test_log_retention_is_restricted_to_the_values_cloudwatch_accepts() -> None:
    allowed = set(CLOUDWATCH_RETENTION_DAYS)
    text = _validation_text("lambda", "cloudwatch_logs_retention_in_days")
    listed = {int(n) for n in re.search(r"contains\(\[([\d,]+)\]", text).group(1).split(",")}
    assert listed == allowed


def test_lambda_defaults_follow_the_brief() -> None:
    variables = module("lambda").variables()
    assert variables["runtime"]["default"] == "python3.12"
    assert variables["handler"]["default"] == "handler.handler"
    assert variables["memory_size"]["default"] == 1024
    assert variables["timeout"]["default"] == 30
    assert variables["front_door"]["default"] == "function_url"


# --------------------------------------------------------------------------------------------
# IAM: no wildcard grants
# --------------------------------------------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _is_wildcard_action(action: str) -> bool:
    return action == "*" or re.fullmatch(r"[A-Za-z0-9-]+:\*", action) is not None


def _policy_document_statements(body: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Statements of a data aws_iam_policy_document, including dynamic ones."""
    for statement in body.get("statement", []):
        yield {
            "effect": statement.get("effect", "Allow"),
            "actions": _as_list(statement.get("actions")),
            "not_actions": _as_list(statement.get("not_actions")),
            "resources": _as_list(statement.get("resources")),
        }
    for dynamic in body.get("dynamic", []):
        for content in dynamic.get("statement", {}).get("content", []):
            yield {
                "effect": content.get("effect", "Allow"),
                "actions": _as_list(content.get("actions")),
                "not_actions": _as_list(content.get("not_actions")),
                "resources": _as_list(content.get("resources")),
            }


def _policy_statements(cfg: Config, statements: Any) -> list[dict[str, Any]]:
    """A jsonencode()d Statement: a literal list, or an expression over locals holding
    statements (e.g. `concat(local.a, cond ? [local.b] : [])`), every one of them."""
    if not isinstance(statements, str):
        return _as_list(statements)
    found: list[dict[str, Any]] = []
    for name in re.findall(r"\blocal\.(\w+)", statements):
        value = cfg.locals()[name]
        assert isinstance(value, (list, dict)), f"local.{name} is not a literal statement"
        found.extend(_as_list(value))
    assert found, f"no statements found in {statements}"
    return found


def _json_policy_statements(cfg: Config) -> Iterator[tuple[str, dict[str, Any]]]:
    """Statements of every jsonencode()d policy attribute; such policies must live in locals."""
    for (rtype, name), body in cfg.resources().items():
        for attr in ("policy", "assume_role_policy", "key_policy"):
            value = body.get(attr)
            if not isinstance(value, str) or "jsonencode(" not in value:
                continue
            match = re.fullmatch(r"\$\{jsonencode\(local\.(\w+)\)\}", _squash(value))
            assert match, f"{rtype}.{name}.{attr}: keep jsonencode() policies in locals"
            document = cfg.locals()[match.group(1)]
            for statement in _policy_statements(cfg, document["Statement"]):
                yield (
                    f"{rtype}.{name}",
                    {
                        "effect": statement.get("Effect", "Allow"),
                        "actions": _as_list(statement.get("Action")),
                        "not_actions": _as_list(statement.get("NotAction")),
                        "resources": _as_list(statement.get("Resource")),
                    },
                )


def _all_statements() -> Iterator[tuple[str, dict[str, Any]]]:
    for directory in all_dirs():
        cfg = config(directory)
        for (_, name), body in cfg.data("aws_iam_policy_document").items():
            for statement in _policy_document_statements(body):
                yield f"{directory.name}: data.aws_iam_policy_document.{name}", statement
        for where, statement in _json_policy_statements(cfg):
            yield f"{directory.name}: {where}", statement


def test_iam_policies_are_found() -> None:
    """Guards the test below against silently inspecting nothing."""
    where = {w for w, _ in _all_statements()}
    assert any("aws_kms_key.this" in w for w in where)
    assert any("aws_iam_policy_document.access" in w for w in where)
    assert any("aws_iam_policy_document.irsa_assume_role" in w for w in where)


def test_no_policy_allows_a_wildcard_action_on_every_resource() -> None:
    for where, statement in _all_statements():
        if statement["effect"] != "Allow":
            continue
        assert not statement["not_actions"], f"{where}: Allow with NotAction"
        if "*" not in statement["resources"]:
            continue
        wild = [a for a in statement["actions"] if _is_wildcard_action(a)]
        assert not wild, f"{where}: allows {wild} on resource *"


def test_shared_state_policy_is_least_privilege() -> None:
    body = module("shared-state").data("aws_iam_policy_document")[
        ("aws_iam_policy_document", "access")
    ]
    statements = {s["sid"]: s for s in body["statement"]}
    objects = statements["CcrOriginalsReadWrite"]
    assert sorted(objects["actions"]) == ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
    assert _squash(objects["resources"]) == _squash(["${local.bucket_arn}/${var.s3_prefix}*"])
    listing = statements["CcrOriginalsList"]
    assert listing["actions"] == ["s3:ListBucket"]
    condition = _block(listing, "condition")
    assert condition["variable"] == "s3:prefix"
    assert _squash(condition["values"]) == _squash(["${var.s3_prefix}*"])
    kms = body["dynamic"][0]["statement"]["content"][0]
    assert sorted(kms["actions"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert kms["resources"] == ["${statement.value}"]


def test_consumers_attach_the_shared_state_policy_instead_of_writing_their_own() -> None:
    for name, resource in (("lambda", "shared_state"), ("eks-gpu-pool", "irsa_shared_state")):
        cfg = module(name)
        body = cfg.resource("aws_iam_role_policy", resource)
        assert body["policy"] == "${var.shared_state.s3.access_policy_json}"
        # Attached exactly when a bucket is given, decided at plan time.
        assert _squash(body["count"]) == "${var.create&&local.has_bucket?1:0}"
        assert cfg.locals()["has_bucket"] == "${local.s3 != null}"
        assert not cfg.resources("aws_s3_bucket"), f"{name} creates its own bucket"
        assert not cfg.resources("aws_elasticache_serverless_cache"), f"{name} creates a cache"


# Inputs a consumer may share with modules/shared-state by name: generic ones, not settings
# of the cache, the bucket or the key.
GENERIC_INPUTS = {"create", "name", "tags", "vpc_id", "subnet_ids"}


@pytest.mark.parametrize("name", CONSUMERS)
def test_consumers_take_shared_state_as_one_input_instead_of_nesting_it(name: str) -> None:
    cfg = module(name)
    assert not cfg.modules(), f"{name} nests {list(cfg.modules())}: compose in the examples"
    assert not cfg.resources("aws_kms_key"), f"{name} creates its own KMS key"
    assert not any("kms_key_policy" in k for k in cfg.locals()), f"{name} writes a key policy"
    duplicated = set(cfg.variables()) & set(module("shared-state").variables()) - GENERIC_INPUTS
    assert not duplicated, f"{name} repeats shared-state inputs: {sorted(duplicated)}"
    assert not [v for v in cfg.variables() if v.startswith(("s3_", "redis_", "ccr_"))]
    assert "shared_state" in cfg.variables()


def _attribute_names(expr: str) -> set[str]:
    return set(re.findall(r"(\w+)=", _squash(expr)))


def _flat_keys(value: Any) -> set[str]:
    if not isinstance(value, dict):
        return set()
    return set(value) | {k for v in value.values() for k in _flat_keys(v)}


def _connection() -> dict[str, Any]:
    """modules/shared-state's `connection` output, read back to its literal object."""
    cfg = module("shared-state")
    assert cfg.outputs()["connection"]["value"] == "${local.connection}"
    connection = dict(cfg.locals()["connection"])  # a copy: Config is cached
    for part in ("redis", "s3"):
        # A conditional object; hcl2 renders it as text, whose keys are what count here.
        text = connection[part]
        assert re.match(r"\$\{local\.\w+\?", _squash(text)), f"{part}: not decided by a local"
        assert _squash(text).endswith(":null}"), f"{part}: not null when absent"
        connection[part] = dict.fromkeys(_attribute_names(text))
    return connection


@pytest.mark.parametrize("name", CONSUMERS)
def test_consumer_shared_state_type_is_what_shared_state_outputs(name: str) -> None:
    """The typed input has exactly the attributes the connection output carries, so the
    examples pass it whole and a renamed attribute fails here, not at plan time."""
    connection = _connection()
    typed = module(name).variables()["shared_state"]["type"]
    assert _squash(typed).startswith("${object({"), typed
    assert _attribute_names(typed) == _flat_keys(connection)
    assert "default" not in module(name).variables()["shared_state"], "must be composed"


def test_connection_presence_is_decided_by_inputs_only() -> None:
    """Consumers count resources on `redis != null` / `s3 != null`, so those must be known
    at plan time: decided by input flags, never by a created resource's attribute."""
    cfg = module("shared-state")
    assert _squash(cfg.locals()["create_redis"]) == "${var.create&&var.create_redis}"
    has_bucket = _squash(cfg.locals()["has_bucket"])
    assert has_bucket == "${var.create&&(var.create_bucket||var.bucket_name!=null)}"
    text = _squash(cfg.locals()["connection"]["redis"])
    assert text.startswith("${local.create_redis?")
    assert _squash(cfg.locals()["connection"]["s3"]).startswith("${local.has_bucket?")
    # A one-element list: its length is known even while the group's id is not.
    assert "security_group_ids=[try(aws_security_group.this[0].id,null)]" in text


# --------------------------------------------------------------------------------------------
# Shared state: S3 and ElastiCache
# --------------------------------------------------------------------------------------------


def test_bucket_is_encrypted_private_and_owner_enforced() -> None:
    cfg = module("shared-state")
    sse = _block(cfg.resource("aws_s3_bucket_server_side_encryption_configuration"), "rule")
    default = _block(sse, "apply_server_side_encryption_by_default")
    assert default["sse_algorithm"] == "${var.sse_algorithm}"
    assert cfg.variables()["sse_algorithm"]["default"] == "aws:kms"
    assert "bucket_key_enabled" in sse
    pab = cfg.resource("aws_s3_bucket_public_access_block")
    for flag in (
        "block_public_acls",
        "block_public_policy",
        "ignore_public_acls",
        "restrict_public_buckets",
    ):
        assert pab[flag] is True, flag
    ownership = _block(cfg.resource("aws_s3_bucket_ownership_controls"), "rule")
    assert ownership["object_ownership"] == "BucketOwnerEnforced"


def test_bucket_policy_denies_plain_http() -> None:
    cfg = module("shared-state")
    policy = cfg.data("aws_iam_policy_document")[("aws_iam_policy_document", "bucket")]
    denies = [s for s in policy["statement"] if s.get("effect") == "Deny"]
    conditions = [
        (c["test"], c["variable"], c["values"]) for s in denies for c in s.get("condition", [])
    ]
    assert ("Bool", "aws:SecureTransport", ["false"]) in conditions
    assert cfg.resource("aws_s3_bucket_policy")["policy"] == (
        "${data.aws_iam_policy_document.bucket[0].json}"
    )


def test_lifecycle_expires_the_prefix_after_the_ccr_ttl_in_whole_days() -> None:
    cfg = module("shared-state")
    rules = {r["id"]: r for r in cfg.resource("aws_s3_bucket_lifecycle_configuration")["rule"]}
    expire = rules["expire-ccr-originals"]
    assert _block(expire, "filter")["prefix"] == "${var.s3_prefix}"
    days = cfg.resolve(_block(expire, "expiration")["days"])
    assert days == cfg.locals()["ccr_expiration_days"]
    assert _squash(cfg.locals()["ccr_expiration_days"]) == "${ceil(var.ccr_ttl_seconds/86400)}"
    aborts = [r for r in rules.values() if r.get("abort_incomplete_multipart_upload")]
    assert aborts and all(r["status"] == "Enabled" for r in aborts)


@needs_terraform
def test_lifecycle_expression_rounds_up_with_the_real_evaluator() -> None:
    """Evaluate the module's own expression in `terraform console` for edge TTLs."""
    expression = module("shared-state").locals()["ccr_expiration_days"]
    expression = re.fullmatch(r"\$\{(.*)\}", expression, re.S).group(1)
    ttls = [1, 3600, 86399, 86400, 86401, 7 * 86400]
    # Piped console input prints only the last result, so evaluate one tuple of all cases.
    cases = ", ".join(expression.replace("var.ccr_ttl_seconds", str(t)) for t in ttls)
    with tempfile.TemporaryDirectory() as empty:
        result = _run([TERRAFORM, "console"], cwd=Path(empty), stdin=f"[{cases}]\n", timeout=60)
    assert result.returncode == 0, result.stderr
    values = [int(v) for v in re.findall(r"\b(\d+)\b", result.stdout)]
    assert values == [math.ceil(t / 86400) for t in ttls]


def test_cache_is_serverless_in_the_given_subnets_behind_its_own_security_group() -> None:
    cfg = module("shared-state")
    cache = cfg.resource("aws_elasticache_serverless_cache")
    assert cache["subnet_ids"] == "${var.subnet_ids}"
    assert cache["security_group_ids"] == ["${aws_security_group.this[0].id}"]
    assert cache["engine"] == "${var.redis_engine}"
    ingress = cfg.resource("aws_vpc_security_group_ingress_rule")
    assert (ingress["from_port"], ingress["to_port"], ingress["ip_protocol"]) == (6379, 6380, "tcp")
    assert "allowed_security_group_ids" in ingress["referenced_security_group_id"]
    assert "cidr_ipv4" not in ingress and "cidr_ipv6" not in ingress
    assert _squash(cfg.locals()["redis_url"]).count("rediss://") == 1


# --------------------------------------------------------------------------------------------
# Lambda
# --------------------------------------------------------------------------------------------


def test_function_urls_require_iam_auth() -> None:
    urls = [
        body
        for directory in all_dirs()
        for body in config(directory).resources("aws_lambda_function_url").values()
    ]
    assert urls, "no aws_lambda_function_url found"
    for body in urls:
        assert body["authorization_type"] == "AWS_IAM"


def test_http_api_routes_always_use_the_authorizer() -> None:
    route = module("lambda").resource("aws_apigatewayv2_route")
    assert "NONE" not in route["authorization_type"]
    assert route["authorizer_id"] == "${aws_apigatewayv2_authorizer.this[0].id}"
    stage = module("lambda").resource("aws_apigatewayv2_stage")
    assert _block(stage, "access_log_settings")["destination_arn"]


def test_lambda_environment_follows_the_runtime_contract() -> None:
    contract = set(re.findall(r"^\| (HEADROOM_[A-Z0-9_]+) \|", CONTRACT.read_text(), re.M))
    environment = module("lambda").locals()["environment"]
    keys = set(re.findall(r"\b(HEADROOM_[A-Z0-9_]+)['\"]?\s*[=:]", environment))
    required = {
        "HEADROOM_PROFILE",
        "HEADROOM_REDIS_URL",
        "HEADROOM_S3_BUCKET",
        "HEADROOM_S3_PREFIX",
        "HEADROOM_CLUSTER_ID",
        "HEADROOM_CCR_TTL_SECONDS",
        "HEADROOM_KOMPRESS",
        "HEADROOM_KOMPRESS_ENDPOINT",
    }
    assert required <= keys, required - keys
    assert keys <= contract, f"not in tests/CONTRACT.md: {keys - contract}"
    assert re.search(r"HEADROOM_PROFILE['\"]?\s*[=:]\s*['\"]lambda['\"]", environment)
    assert module("lambda").resource("aws_lambda_function")["environment"] == [
        {"variables": "${local.environment}"}
    ]


def test_lambda_role_writes_only_its_own_logs_and_has_vpc_access() -> None:
    cfg = module("lambda")
    policy = cfg.data("aws_iam_policy_document")[("aws_iam_policy_document", "this")]
    statements = {s["sid"]: s for s in policy["statement"]}
    logs = statements["WriteOwnLogs"]
    assert logs["resources"] == ["${aws_cloudwatch_log_group.this[0].arn}:*"]
    assert "logs:CreateLogGroup" not in logs["actions"]
    assert statements["CreateEnisInOwnSubnets"]["actions"] == ["ec2:CreateNetworkInterface"]
    function = cfg.resource("aws_lambda_function")
    vpc = _block(function, "vpc_config")
    assert vpc["subnet_ids"] == "${var.subnet_ids}"
    assert vpc["security_group_ids"] == ["${aws_security_group.this[0].id}"]
    assert _bare(function["architectures"]) == "[var.architecture]"
    # Egress only to Redis, S3 (prefix list) and explicitly given destinations.
    egress = cfg.resources("aws_vpc_security_group_egress_rule")
    assert set(name for _, name in egress) == {"redis", "s3", "additional"}
    assert egress[("aws_vpc_security_group_egress_rule", "s3")]["from_port"] == 443
    assert "prefix_list_id" in egress[("aws_vpc_security_group_egress_rule", "s3")]
    assert not cfg.resources("aws_vpc_security_group_ingress_rule")


def test_log_groups_have_retention_and_kms() -> None:
    groups = module("lambda").resources("aws_cloudwatch_log_group")
    assert len(groups) == 2
    for body in groups.values():
        assert body["retention_in_days"] == "${var.cloudwatch_logs_retention_in_days}"
        assert body["kms_key_id"] == "${local.kms_key_arn}"


# --------------------------------------------------------------------------------------------
# EKS GPU pool
# --------------------------------------------------------------------------------------------


def _node_group_taints_and_labels() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    cfg = module("eks-gpu-pool")
    group = cfg.resource("aws_eks_node_group")
    taints = [{k: cfg.resolve(v) for k, v in t.items()} for t in group["taint"]]
    labels_expr = _squash(cfg.resolve(group["labels"]))
    # The pool label is merged last, so extra labels can never override it.
    assert labels_expr.endswith(",local.pool_label)}"), labels_expr
    return taints, cfg.resolve("${local.pool_label}")


def test_node_group_taint_and_label_match_the_chart_service_mode() -> None:
    taints, pool_label = _node_group_taints_and_labels()
    assert pool_label == CHART_NODE_SELECTOR
    gpu = [t for t in taints if t["key"] == CHART_GPU_TOLERATION["key"]]
    assert len(gpu) == 1
    assert gpu[0]["value"] == "true"
    assert EKS_TAINT_EFFECTS[gpu[0]["effect"]] == CHART_GPU_TOLERATION["effect"]


def test_helm_values_select_the_pool_and_tolerate_its_taint() -> None:
    cfg = module("eks-gpu-pool")
    values = cfg.locals()["helm_values"]
    assert values["mode"] == "service"
    server = values["server"]
    assert cfg.resolve(server["nodeSelector"]) == CHART_NODE_SELECTOR
    tolerations = [{k: cfg.resolve(v) for k, v in t.items()} for t in server["gpu"]["tolerations"]]
    assert CHART_GPU_TOLERATION in tolerations
    assert values["auth"]["existingSecret"] == "${var.token_secret_name}"
    annotations = values["serviceAccount"]["annotations"]
    assert "aws_iam_role.irsa" in annotations["eks.amazonaws.com/role-arn"]
    release = cfg.resource("helm_release")
    expected = "concat([yamlencode(local.helm_values)],var.helm_values)"
    assert _bare(release["values"]) == expected


def _sample(cfg: Config, value: Any) -> Any:
    """A concrete value of the type a Terraform expression has, for schema validation."""
    if isinstance(value, dict):
        return {k: _sample(cfg, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_sample(cfg, v) for v in value]
    if not isinstance(value, str) or not value.startswith("${"):
        return value
    resolved = cfg.resolve(value)
    if resolved is not value:
        return _sample(cfg, resolved)
    variable = re.fullmatch(r"\$\{var\.(\w+)\}", value)
    if variable and cfg.variables()[variable.group(1)]["type"] == "number":
        return 3600
    if re.fullmatch(r"\$\{var\.shared_state\.ccr_ttl_seconds\}", value):
        return 3600
    if "redis_url" in value or "redis.url" in value:
        return "rediss://cache.example.com:6379"
    if "sse_algorithm" in value:
        return "aws:kms"
    if "digest" in value:
        return "sha256:" + "0" * 64
    return "sample"


def test_helm_values_fit_the_chart_schema() -> None:
    """The values the module renders are accepted by helm/headroom-gateway's schema."""
    jsonschema = pytest.importorskip("jsonschema")
    schema_file = CHART_VALUES.parent / "values.schema.json"
    if not schema_file.is_file():
        pytest.skip("helm/headroom-gateway/values.schema.json not present")
    cfg = module("eks-gpu-pool")
    values = _sample(cfg, cfg.locals()["helm_values"])
    assert values["server"]["replicaCount"] == 3600  # numbers came out as numbers
    jsonschema.validate(values, json.loads(schema_file.read_text()))


def _render_server_pod_spec(yaml: Any, *args: str) -> dict[str, Any] | None:
    """The server pod spec `helm template` renders for mode: service; None without helm."""
    helm = _tool("helm", TOOLS / "bin" / "helm")
    if helm is None:
        return None
    with tempfile.TemporaryDirectory() as home:
        env = {f"HELM_{d}_HOME": str(Path(home) / d.lower()) for d in ("CACHE", "CONFIG", "DATA")}
        env["KUBECONFIG"] = str(Path(home) / "no-kubeconfig")
        command = [helm, "template", "hr", str(CHART_VALUES.parent), "--namespace", "headroom"]
        result = _run([*command, *args], env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    for doc in yaml.safe_load_all(result.stdout):
        if doc and doc.get("kind") == "Deployment" and "webhook" not in doc["metadata"]["name"]:
            return doc["spec"]["template"]["spec"]
    raise AssertionError("no server Deployment rendered in mode: service")


def test_chart_renders_the_module_values_onto_the_pool(tmp_path: Path) -> None:
    """helm template with the values the module passes: the pod lands on the pool, tolerates
    its taint, asks for a GPU and runs as the IRSA ServiceAccount."""
    yaml = pytest.importorskip("yaml")
    if not CHART_VALUES.is_file():
        pytest.skip("helm/headroom-gateway not present")
    cfg = module("eks-gpu-pool")
    values = _sample(cfg, cfg.locals()["helm_values"])
    values["gpuImage"]["digest"] = ""
    values["server"]["replicaCount"] = values["server"]["gpu"]["count"] = 1
    values["config"]["ccrTtlSeconds"] = 3600
    values_file = tmp_path / "values.yaml"
    values_file.write_text(yaml.safe_dump(values))
    spec = _render_server_pod_spec(yaml, "-f", str(values_file))
    if spec is None:
        pytest.skip("helm missing: run tests/packaging/install-tools.sh (make test does)")
    assert spec["nodeSelector"] == CHART_NODE_SELECTOR
    assert CHART_GPU_TOLERATION in spec["tolerations"]
    assert spec["serviceAccountName"] == values["serviceAccount"]["name"]
    limits = spec["containers"][0]["resources"]["limits"]
    assert str(limits.get("nvidia.com/gpu")) == "1"


def test_chart_defaults_agree_with_the_pool() -> None:
    """The chart's own mode: service defaults (for installs without this module) select the
    pool's label and tolerate its taint, as both briefs fix."""
    yaml = pytest.importorskip("yaml")
    if not CHART_VALUES.is_file():
        pytest.skip("helm/headroom-gateway/values.yaml not present")
    spec = _render_server_pod_spec(yaml, "--set", "mode=service", "--set", "auth.existingSecret=t")
    if spec is None:  # no helm binary: read the defaults instead of rendering them
        server = yaml.safe_load(CHART_VALUES.read_text())["server"]
        spec = {"nodeSelector": server["nodeSelector"], "tolerations": server["gpu"]["tolerations"]}
    assert CHART_GPU_TOLERATION in spec.get("tolerations", [])
    assert spec.get("nodeSelector") == CHART_NODE_SELECTOR, (
        "helm/headroom-gateway mode: service must default to nodeSelector "
        f"{CHART_NODE_SELECTOR} (the GPU pool's label), got {spec.get('nodeSelector')}"
    )


def test_chart_path_default_points_at_the_repository_chart() -> None:
    cfg = module("eks-gpu-pool")
    expr = cfg.locals()["chart_path"]
    relative = re.search(r'"\$\{path\.module\}/([^"]+)"', expr).group(1)
    resolved = (MODULES / "eks-gpu-pool" / relative).resolve()
    assert resolved == REPO / "helm" / "headroom-gateway"


def test_launch_template_requires_imdsv2_and_encrypts_the_volume() -> None:
    cfg = module("eks-gpu-pool")
    template = cfg.resource("aws_launch_template")
    metadata = _block(template, "metadata_options")
    assert metadata["http_tokens"] == "required"
    assert metadata["http_endpoint"] == "enabled"
    hop = cfg.variables()["metadata_http_put_response_hop_limit"]["default"]
    assert hop == 1  # pods use IRSA, so they never need the node's credentials
    ebs = _block(_block(template, "block_device_mappings"), "ebs")
    assert ebs["encrypted"] is True
    group = cfg.resource("aws_eks_node_group")
    assert _block(group, "launch_template")["id"] == "${aws_launch_template.this[0].id}"
    assert group["ami_type"] == "${var.ami_type}"


def test_node_role_has_exactly_the_worker_policies() -> None:
    attachment = module("eks-gpu-pool").resource("aws_iam_role_policy_attachment", "node")
    names = set(re.findall(r"policy/(\w+)", attachment["for_each"]))
    assert names == {
        "AmazonEKSWorkerNodePolicy",
        "AmazonEKS_CNI_Policy",
        "AmazonEC2ContainerRegistryReadOnly",
    }


def test_irsa_trust_is_scoped_to_the_service_account() -> None:
    cfg = module("eks-gpu-pool")
    trust = cfg.data("aws_iam_policy_document")[("aws_iam_policy_document", "irsa_assume_role")]
    statement = _block(trust, "statement")
    assert statement["actions"] == ["sts:AssumeRoleWithWebIdentity"]
    conditions = {c["variable"].split(":")[-1]: c for c in statement["condition"]}
    assert conditions["sub"]["test"] == "StringEquals"
    assert conditions["sub"]["values"] == [
        "system:serviceaccount:${var.namespace}:${var.service_account_name}"
    ]
    assert conditions["aud"]["values"] == ["sts.amazonaws.com"]


# --------------------------------------------------------------------------------------------
# Examples
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("directory", all_dirs(), ids=DIR_IDS)
def test_module_sources_are_relative_paths_that_exist(directory: Path) -> None:
    for name, body in config(directory).modules().items():
        source = body["source"]
        assert source.startswith(("./", "../")), f"{name}: {source} is not a local path"
        target = (directory / source).resolve()
        assert (target / "versions.tf").is_file(), f"{name}: {source} is not a module"
        assert target.is_relative_to(TERRAFORM_DIR / "modules")


EXAMPLE_CONSUMERS = {
    "lambda": ("headroom_gateway", "security_group_id"),
    "eks-gpu-pool": ("gpu_pool", "node_security_group_id"),
}


@pytest.mark.parametrize("example", list(EXAMPLE_CONSUMERS))
def test_examples_compose_shared_state_with_the_consumer(example: str) -> None:
    modules = config(EXAMPLES / example).modules()
    consumer, security_group = EXAMPLE_CONSUMERS[example]
    assert modules[consumer]["source"] == f"../../modules/{example}"
    assert modules["shared_state"]["source"] == "../../modules/shared-state"
    # One object in; only the consumer's own security group reaches the cache.
    assert modules[consumer]["shared_state"] == "${module.shared_state.connection}"
    allowed = modules["shared_state"]["allowed_security_group_ids"]
    assert _bare(allowed) == f"[module.{consumer}.{security_group}]"
    assert security_group in config(MODULES / example).outputs()


def test_lambda_logs_are_encrypted_by_the_shared_key_which_allows_only_them() -> None:
    example = config(EXAMPLES / "lambda").modules()["shared_state"]
    assert example["cloudwatch_log_group_names"] == "${module.headroom_gateway.log_group_names}"
    lam = module("lambda")
    assert lam.locals()["kms_key_arn"] == "${var.shared_state.kms_key_arn}"
    names = _bare(lam.outputs()["log_group_names"]["value"])
    assert names == "[local.lambda_log_group_name,local.api_log_group_name]"
    statement = module("shared-state").locals()["kms_logs_statement"]
    assert statement["Principal"] == {"Service": "logs.${local.region}.amazonaws.com"}
    arns = statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert "var.cloudwatch_log_group_names" in arns and ":log-group:${n}" in arns
    policy = _squash(module("shared-state").locals()["kms_key_policy"]["Statement"])
    assert "length(var.cloudwatch_log_group_names)>0?[local.kms_logs_statement]:[]" in policy


def test_lambda_example_defaults_to_the_make_lambda_zip_artifact() -> None:
    cfg = config(EXAMPLES / "lambda")
    expr = cfg.locals()["filename"]
    relative = re.search(r'"\$\{path\.module\}/([^"]+)"', expr).group(1)
    assert relative.endswith("dist/headroom-gateway-lambda-${var.architecture}.zip")
    dist = (EXAMPLES / "lambda" / relative.split("dist/")[0]).resolve()
    assert dist == REPO
    assert cfg.modules()["headroom_gateway"]["filename"] == "${local.filename}"


def test_helm_provider_uses_v3_attribute_syntax() -> None:
    """helm ~> 3.0: `kubernetes = {...}` is an attribute; a v2 block would not parse there."""
    text = (EXAMPLES / "eks-gpu-pool" / "main.tf").read_text()
    block = re.search(r'provider "helm" \{(.*?)\n\}', text, re.S).group(1)
    assert re.search(r"^\s+kubernetes\s*=\s*\{", block, re.M)
    assert re.search(r"^\s+exec\s*=\s*\{", block, re.M)


# --------------------------------------------------------------------------------------------
# examples/managed-shared: EKS (existing cluster) + shared state + RDS + the chart's profile
# --------------------------------------------------------------------------------------------

MANAGED = EXAMPLES / "managed-shared"


def test_managed_shared_consumes_the_shared_state_connection_only() -> None:
    cfg = config(MANAGED)
    shared = cfg.modules()["shared_state"]
    assert shared["source"] == "../../modules/shared-state"
    assert _bare(shared["allowed_security_group_ids"]) == "[local.cluster_security_group_id]"
    assert cfg.locals()["shared_state"] == "${module.shared_state.connection}"
    # Everything else reads the one typed object, never the module's individual outputs.
    for name in ("main.tf", "database.tf", "kubernetes.tf"):
        text = (MANAGED / name).read_text()
        used = set(re.findall(r"module\.shared_state\.(\w+)", text))
        assert used <= {"connection"}, f"{name} reads module.shared_state.{used}"
    access = cfg.resource("aws_iam_role_policy", "shared_state")["policy"]
    assert access == "${local.shared_state.s3.access_policy_json}"


def test_managed_shared_database_is_private_encrypted_and_tls_only() -> None:
    cfg = config(MANAGED)
    db = cfg.resource("aws_db_instance")
    assert db["engine"] == "postgres"
    assert db["storage_encrypted"] is True and db["publicly_accessible"] is False
    assert db["multi_az"] is True and db["deletion_protection"] is True
    assert db["kms_key_id"] == "${local.shared_state.kms_key_arn}"
    assert db["vpc_security_group_ids"] == ["${aws_security_group.database.id}"]
    parameters = {
        p["name"]: p["value"] for p in cfg.resource("aws_db_parameter_group")["parameter"]
    }
    assert parameters["rds.force_ssl"] == "1"
    ingress = cfg.resource("aws_vpc_security_group_ingress_rule", "database")
    assert (ingress["from_port"], ingress["to_port"]) == (5432, 5432)
    assert ingress["referenced_security_group_id"] == "${local.cluster_security_group_id}"
    url = cfg.resource("kubernetes_secret_v1", "database")["data"]["database_url"]
    assert url.startswith("postgresql://") and url.endswith("?sslmode=require")


#: `contains(local.provider_key_names, "K") ? "K" : ""`: the chart's key name when K was given
_GIVEN_KEY = r'\$\{contains\(local\.provider_key_names, "(\w+)"\) \? "\1" : ""\}'


def _managed_values(provider_keys: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The example's chart values with each Terraform expression replaced by a value of its
    type, as an apply would produce them; `provider_keys`: the names of the organisation's
    keys given in var.provider_keys (e.g. "anthropic_api_key")."""
    cfg = config(MANAGED)
    key_secret = cfg.resource("kubernetes_secret_v1", "provider_keys")["metadata"][0]["name"]
    secrets = {
        f"${{kubernetes_secret_v1.{name}.metadata[0].name}}": body["metadata"][0]["name"]
        for (_, name), body in cfg.resources("kubernetes_secret_v1").items()
    }
    concrete: dict[str, Any] = {
        **secrets,
        "${var.replicas.min}": 3,
        "${var.replicas.max}": 20,
        "${var.replicas.min - 1}": 2,
        "${local.policy}": yaml.safe_load((MANAGED / "policy.yaml").read_text()),
        "${local.shared_state.ccr_ttl_seconds}": 3600,
        "${local.shared_state.s3.bucket_name}": "headroom-shared-ccr",
        "${local.shared_state.s3.prefix}": "headroom-gateway/",
        "${local.shared_state.s3.sse_algorithm}": "aws:kms",
        "${var.ingress.class_name}": "nginx",
        "${var.ingress.tls_secret_name}": "headroom-gateway-tls",
        "${var.ingress.annotations}": {},
        "${var.hostname}": "headroom.acme.internal",
        "${var.name}": "headroom-shared",
        "${var.region}": "eu-west-1",
        "${var.image_tag}": "0.1.0",
        "${local.service_account}": "headroom-gateway",
    }

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, str) and value.startswith("${"):
            if value in concrete:
                return concrete[value]
            given = re.fullmatch(_GIVEN_KEY, value)
            if given:
                return given.group(1) if given.group(1) in provider_keys else ""
            if value == "${one(kubernetes_secret_v1.provider_keys[*].metadata[0].name)}":
                return key_secret if provider_keys else None
            if value == ("${length(local.provider_key_names) > 0 ? "
                         "local.provider_key_values : tomap({})}"):  # fmt: skip
                return walk(cfg.locals()["provider_key_values"]) if provider_keys else {}
            if "kms_key_arn" in value:
                return "arn:aws:kms:eu-west-1:123456789012:key/1234"
            if "aws_iam_role.this.arn" in value:
                return "arn:aws:iam::123456789012:role/headroom-shared-irsa"
            return "sample"
        return value

    values: dict[str, Any] = walk(cfg.locals()["helm_values"])
    return values


def test_managed_shared_values_fit_the_chart_schema_and_render_the_profile(
    tmp_path: Path,
) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from tests.packaging.k8s_support import HELM, find, render

    values = _managed_values()
    schema = json.loads((CHART_VALUES.parent / "values.schema.json").read_text())
    jsonschema.validate(values, schema)
    assert values["server"]["nodeSelector"] is None  # drops the GPU pool's default selector
    if HELM is None:
        pytest.skip(f"helm missing: {INSTALL_HINT}")
    values_file = tmp_path / "values.yaml"
    values_file.write_text(yaml.safe_dump(values))
    objects = render([values_file], namespace="headroom")
    deploy = find(objects, "Deployment")
    spec = deploy["spec"]["template"]["spec"]
    assert "nodeSelector" not in spec and "tolerations" not in spec
    assert spec["serviceAccountName"] == "headroom-gateway"  # the IRSA trust names it
    assert find(objects, "Ingress")["spec"]["tls"][0]["hosts"] == ["headroom.acme.internal"]
    hpa = find(objects, "HorizontalPodAutoscaler")["spec"]
    assert {m["pods"]["metric"]["name"] for m in hpa["metrics"] if m["type"] == "Pods"} == {
        "headroom_requests_in_flight",
        "headroom_requests_queued",
    }
    assert find(objects, "PodDisruptionBudget")["spec"]["minAvailable"] == 2
    policy = find(objects, "ConfigMap", "hr-headroom-gateway-policy")["data"]["policy.yaml"]
    assert yaml.safe_load(policy) == yaml.safe_load((MANAGED / "policy.yaml").read_text())
    sources = spec["volumes"][2]["projected"]["sources"]
    assert [s["secret"]["name"] for s in sources] == [
        "headroom-gateway-auth",
        "headroom-gateway-redis",
        "headroom-gateway-database",
    ]


def test_managed_shared_mounts_the_organisations_provider_keys_only_when_given() -> None:
    """Managed proxy callers need the organisation's key upstream: a sensitive variable
    becomes a Secret the chart mounts, with only the keys given (else none, and no mount)."""
    from tests.packaging.k8s_support import HELM, find, render

    cfg = config(MANAGED)
    variable = cfg.variables()["provider_keys"]
    assert variable["sensitive"] is True and variable["default"] is None
    secret = cfg.resource("kubernetes_secret_v1", "provider_keys")
    assert secret["count"] == "${length(local.provider_key_names) > 0 ? 1 : 0}"
    assert secret["data"] == "${local.provider_keys}"
    assert cfg.locals()["provider_key_names"].startswith("${nonsensitive(")
    if HELM is None:
        pytest.skip(f"helm missing: {INSTALL_HINT}")
    by_hand = {"providerKeys": {"existingSecret": "made-by-hand"}}  # var.helm_values, README way
    name = secret["metadata"][0]["name"]
    for given, operator, mounted in [
        (frozenset(), {}, {}),
        (frozenset(), by_hand, {"made-by-hand": ["anthropic_api_key"]}),  # still mounted
        (frozenset({"anthropic_api_key"}), {}, {name: ["anthropic_api_key"]}),
        (frozenset({"anthropic_api_key", "openai_api_key"}), {},
         {name: ["anthropic_api_key", "openai_api_key"]}),
    ]:  # fmt: skip
        with tempfile.TemporaryDirectory() as scratch:
            values_file, operator_file = Path(scratch) / "values.yaml", Path(scratch) / "op.yaml"
            values_file.write_text(yaml.safe_dump(_managed_values(given)))
            operator_file.write_text(yaml.safe_dump(operator))
            objects = render([values_file, operator_file], namespace="headroom")
        spec = find(objects, "Deployment")["spec"]["template"]["spec"]
        sources = spec["volumes"][2]["projected"]["sources"]
        files = {"anthropic_api_key", "openai_api_key"}  # where the gateway reads provider keys
        secrets = [s["secret"] for s in sources]
        keys = {s["name"]: [item["key"] for item in s["items"]]
                for s in secrets if {i["path"] for i in s.get("items", [])} & files}  # fmt: skip
        assert keys == mounted, (given, operator)


def test_managed_shared_policy_file_is_one_the_gateway_accepts() -> None:
    from adapters.policy_file import parse_policy

    policy = parse_policy((MANAGED / "policy.yaml").read_bytes())
    assert policy.for_team("payments").mode == "ccr"


def test_managed_shared_irsa_trusts_only_the_release_service_account() -> None:
    cfg = config(MANAGED)
    statement = cfg.data("aws_iam_policy_document")[("aws_iam_policy_document", "assume_role")][
        "statement"
    ][0]
    conditions = {c["variable"]: c["values"] for c in statement["condition"]}
    assert conditions["${local.oidc_issuer}:sub"] == [
        "system:serviceaccount:${var.namespace}:${local.service_account}"
    ]
    assert cfg.locals()["helm_values"]["serviceAccount"]["name"] == "${local.service_account}"
    release = cfg.resource("helm_release")
    assert _bare(release["values"]) == "concat([yamlencode(local.helm_values)],var.helm_values)"
    chart = re.search(r"\$\{path\.module\}/([^\"]+)", release["chart"]).group(1)
    assert (MANAGED / chart).resolve() == REPO / "helm" / "headroom-gateway"


# --------------------------------------------------------------------------------------------
# Real tools: terraform fmt and checkov
# --------------------------------------------------------------------------------------------


@needs_terraform
def test_terraform_fmt_is_clean() -> None:
    result = _run([TERRAFORM, "fmt", "-check", "-recursive", "-diff", "terraform"], timeout=120)
    assert result.returncode == 0, f"terraform fmt would change:\n{result.stdout}{result.stderr}"


@pytest.fixture(scope="session")
def checkov_report() -> dict[str, Any]:
    """One checkov run over the whole tree, shared by the tests below."""
    if CHECKOV is None:
        pytest.skip(f"checkov missing: {INSTALL_HINT}")
    result = _run(
        [
            CHECKOV,
            "-d",
            "terraform",
            "--framework",
            "terraform",
            "--skip-download",
            "--output",
            "json",
            "--compact",
        ],
        timeout=600,
    )
    # Exit 1 means failed checks, which the test reports with details; other codes are errors.
    assert result.returncode in (0, 1), result.stderr[-4000:]
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    terraform = [r for r in reports if r.get("check_type") == "terraform"]
    assert terraform, f"checkov scanned no Terraform: {result.stdout[:2000]}"
    return terraform[0]


def test_checkov_finds_no_failed_checks(checkov_report: dict[str, Any]) -> None:
    summary = checkov_report["summary"]
    assert summary["parsing_errors"] == 0, checkov_report["results"].get("parsing_errors")
    assert summary["resource_count"] > 30, "checkov scanned suspiciously few resources"
    assert summary["passed"] > 100
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']}): {c['check_name']}"
        for c in checkov_report["results"].get("failed_checks", [])
    ]
    assert not failed, "\n".join(failed)


def test_checkov_skips_carry_a_reason(checkov_report: dict[str, Any]) -> None:
    for check in checkov_report["results"].get("skipped_checks", []):
        reason = (check.get("check_result") or {}).get("suppress_comment") or ""
        assert len(reason) >= 20, f"{check['check_id']} on {check['resource']}: no real reason"


def test_skip_comments_are_well_formed() -> None:
    for path in TERRAFORM_DIR.rglob("*.tf"):
        for line in path.read_text().splitlines():
            if "checkov:skip" not in line:
                continue
            match = re.fullmatch(r"\s*#checkov:skip=(CKV2?_[A-Z]+_\d+):(.{20,})", line)
            assert match, f"{path.relative_to(REPO)}: malformed skip {line.strip()!r}"


# --------------------------------------------------------------------------------------------
# Plan tests (modules/*/tests, examples/lambda/tests) with mocked providers, local mirror only
# --------------------------------------------------------------------------------------------


def _provider_mirror() -> Path | None:
    """A filesystem provider mirror: HEADROOM_TF_PLUGIN_MIRROR, else a machine-wide one."""
    configured = os.environ.get("HEADROOM_TF_PLUGIN_MIRROR")
    for candidate in [Path(configured)] if configured else [Path("/opt/tf-plugins")]:
        if (candidate / "registry.terraform.io").is_dir():
            return candidate
    return None


def _terraform_version() -> tuple[int, ...]:
    result = _run([TERRAFORM, "version", "-json"], timeout=60)
    version = json.loads(result.stdout)["terraform_version"] if result.returncode == 0 else "0"
    return tuple(int(p) for p in re.findall(r"\d+", version)[:3])


# Directories with tests/*.tftest.hcl: every module, and the lambda example's composition.
PLAN_TESTED = [f"modules/{m}" for m in MODULE_NAMES] + ["examples/lambda"]


def test_plan_tests_exist_where_they_are_run() -> None:
    for name in PLAN_TESTED:
        assert list((TERRAFORM_DIR / name / "tests").glob("*.tftest.hcl")), name


@needs_terraform
@pytest.mark.parametrize("name", PLAN_TESTED)
def test_module_plan_tests_pass_with_mocked_providers(name: str, tmp_path: Path) -> None:
    """`terraform test` plans every module with mocked providers (no AWS account). It needs
    the providers' schemas, which cannot be downloaded here: it runs when a local mirror
    holds versions matching versions.tf, and never reaches the network."""
    if _terraform_version() < (1, 7):
        pytest.skip("terraform >= 1.7 needed for mock providers in `terraform test`")
    mirror = _provider_mirror()
    if mirror is None:
        pytest.skip("no local provider mirror (set HEADROOM_TF_PLUGIN_MIRROR); no downloads here")
    shutil.copytree(
        TERRAFORM_DIR, tmp_path / "terraform", ignore=shutil.ignore_patterns(".terraform*")
    )
    cli_config = tmp_path / "terraformrc"
    cli_config.write_text(
        textwrap.dedent(
            f"""\
            provider_installation {{
              filesystem_mirror {{
                path = "{mirror}"
              }}
            }}
            """
        )
    )
    env = {"TF_CLI_CONFIG_FILE": str(cli_config), "TF_DATA_DIR": str(tmp_path / ".terraform")}
    directory = tmp_path / "terraform" / name
    init = _run(
        [TERRAFORM, "init", "-backend=false", "-input=false", "-no-color"],
        cwd=directory,
        env=env,
        timeout=300,
    )
    if init.returncode != 0:
        reason = " ".join(init.stderr.split())[:300]
        pytest.skip(f"provider mirror {mirror} cannot satisfy {name}'s versions.tf: {reason}")
    result = _run([TERRAFORM, "test", "-no-color"], cwd=directory, env=env, timeout=600)
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
