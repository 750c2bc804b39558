"""The pure diagnosis core: no I/O, no network.

Log lines in, a diagnosis out: ``extract_errors`` finds the decisive error block(s) while streaming,
``classify`` names the failure category with rules kept as data, ``signature_of`` fingerprints it,
``Redactor`` masks secrets and ``fence_untrusted`` wraps log text before a model sees it.
"""

from pipeline_sre.diagnosis.classify import Classification, Rule, classify, load_rules
from pipeline_sre.diagnosis.diagnose import Diagnosis, build_excerpt, diagnose_lines
from pipeline_sre.diagnosis.extract import ErrorBlock, ErrorExtractor, extract_errors
from pipeline_sre.diagnosis.fence import fence_untrusted, strip_control
from pipeline_sre.diagnosis.redact import Redactor, redact
from pipeline_sre.diagnosis.signature import TemplateMiner, mask_variables, signature_of

__all__ = [
    "Classification",
    "Diagnosis",
    "ErrorBlock",
    "ErrorExtractor",
    "Redactor",
    "Rule",
    "TemplateMiner",
    "build_excerpt",
    "classify",
    "diagnose_lines",
    "extract_errors",
    "fence_untrusted",
    "load_rules",
    "mask_variables",
    "redact",
    "signature_of",
    "strip_control",
]
