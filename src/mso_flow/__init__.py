"""MSO Flow: the workflow-engine service of สป.พม., running the Work Manual's processes as BPMN."""

__version__ = "0.1.0"
