"""pipeline-sre: governed incident-response tools for data pipelines."""

__version__ = "0.1.0"
