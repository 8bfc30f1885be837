"""The BPMN dialect MSO Flow runs: Camunda's, with Camunda 7's meaning where SpiffWorkflow's differs, and the
standard BPMN SpiffWorkflow's own models are written in."""

from __future__ import annotations

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from mso_flow.engine.parsing import parse_document
from mso_flow.engine.sandbox import create_script_engine

OPEN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="Definitions_1"
  targetNamespace="http://bpmn.io/schema/bpmn">
"""
STANDARD_LOOP = (
    OPEN
    + """  <bpmn:message id="Message_done" name="done" />
  <bpmn:process id="each_item" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:scriptTask id="Activity_double" name="Double">
      <bpmn:multiInstanceLoopCharacteristics isSequential="true">
        <bpmn:loopDataInputRef>items</bpmn:loopDataInputRef>
        <bpmn:loopDataOutputRef>doubled</bpmn:loopDataOutputRef>
        <bpmn:inputDataItem id="item" name="item" />
        <bpmn:outputDataItem id="twice" name="twice" />
      </bpmn:multiInstanceLoopCharacteristics>
      <bpmn:script>twice = item * 2</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:intermediateThrowEvent id="Event_tell">
      <bpmn:messageEventDefinition id="Def_tell" messageRef="Message_done" />
    </bpmn:intermediateThrowEvent>
    <bpmn:endEvent id="EndEvent_1" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_double" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_double" targetRef="Event_tell" />
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Event_tell" targetRef="EndEvent_1" />
  </bpmn:process>
</bpmn:definitions>
"""
)


def _run(xml: str, **variables: object) -> BpmnWorkflow:
    [process] = parse_document(xml.encode(), "f.bpmn")
    workflow = BpmnWorkflow(process.spec, process.subprocess_specs, script_engine=create_script_engine())
    workflow.get_tasks(state=TaskState.READY)[0].data.update(variables)
    workflow.do_engine_steps()
    return workflow


def test_a_standard_bpmn_multi_instance_runs_over_its_collection_and_a_message_without_payload_is_thrown():
    workflow = _run(STANDARD_LOOP, items=[1, 2, 3])
    assert workflow.is_completed()
    assert workflow.last_task.data["doubled"] == [2, 4, 6]


def test_plain_and_manual_tasks_pass_through_where_spiffworkflow_would_wait():
    xml = (
        OPEN
        + """  <bpmn:process id="pass" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:task id="Activity_plain" />
    <bpmn:manualTask id="Activity_manual" />
    <bpmn:serviceTask id="Activity_service" />
    <bpmn:endEvent id="EndEvent_1" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_plain" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_plain" targetRef="Activity_manual" />
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Activity_manual" targetRef="Activity_service" />
    <bpmn:sequenceFlow id="Flow_4" sourceRef="Activity_service" targetRef="EndEvent_1" />
  </bpmn:process>
</bpmn:definitions>
"""
    )
    assert _run(xml).is_completed()
