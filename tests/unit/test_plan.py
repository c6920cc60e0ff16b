"""Plans and the face steps table: what a query or a handler's policies ask for, what they
need, and what is refused, without any model."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from models.face.age_gender import AgeGender
from models.registry import ADAPTERS, CLASSICAL
from serve_app.errors import LunaError
from serve_app.estimations import ESTIMATIONS, Stage
from serve_app.http.queries import DetectorQuery, SdkQuery
from serve_app.pipeline.events import Candidate, EventMeta, EventRecord, MatchResult
from serve_app.pipeline.filters import passes
from serve_app.pipeline.plan import FACE_WARP, Plan, check_policies, policy_plan, policy_tasks
from serve_app.pipeline.tags import apply_tags
from serve_app.policies import Filters, Policies

# The estimators that have an adapter (a model family or a classical method).
ADAPTED = {task for task, _ in ADAPTERS} | set(CLASSICAL)
# A deployment configured with these estimators only.
BUILT = {"face_detector", "face_landmarks", "head_pose", "image_quality", "face_descriptor",
         "basic_attributes"}  # fmt: skip


def names(plan: Plan) -> list[str]:
    return [step.name for step in plan.steps()]


def test_every_estimation_a_client_asks_for_by_flag_is_presented_where_it_has_a_model():
    for step in ESTIMATIONS:
        if step.task in ADAPTED and step.query_flags:
            assert step.present is not None and step.schema is not None, step.name
        elif step.task not in ADAPTED:
            assert step.present is None, f"{step.name} is presented but has no estimator"


def test_detector_query_asks_for_what_its_flags_name_and_what_they_need():
    plan = DetectorQuery(estimate_head_pose=1).plan()
    assert names(plan) == ["landmarks68", "head_pose"]
    assert plan.tasks() == ["face_detector", "face_landmarks", "head_pose"]
    assert plan.keep_warps  # every detected face becomes a sample
    assert names(DetectorQuery(yaw_threshold=20).plan()) == ["landmarks68", "head_pose"]
    assert names(DetectorQuery(detect_landmarks68=1, estimate_quality=1).plan()) == [
        "landmarks68", "quality"]  # fmt: skip


def test_sdk_query_defaults_and_body_flags():
    plan = SdkQuery(detect_face=1).plan(store_samples=False)
    assert names(plan) == ["descriptor"]  # estimate_face_descriptor is on by default
    assert not plan.keep_warps
    # estimate_body_descriptor is on by default but applies only where bodies are.
    assert "body_descriptor" not in names(plan)
    assert "body_detector" in SdkQuery(detect_body=1).plan(False).tasks()
    # Body estimations run where there are bodies: detected ones, or body warps given.
    assert "body_attributes" not in SdkQuery(estimate_upper_body=1).plan(False).tasks()
    assert SdkQuery(detect_body=1, estimate_upper_body=1).plan(False).tasks()[:3] == [
        "body_detector", "face_descriptor", "body_attributes"]  # fmt: skip
    warps = SdkQuery(image_type=2, estimate_lower_body=1).plan(False)
    assert "body_detector" not in warps.tasks() and "body_attributes" in warps.tasks()
    # Left at its default, the body descriptor applies only where a model is configured;
    # asked for explicitly, it requires one.
    unavailable = {"body_descriptor"}.__contains__
    default = SdkQuery(detect_body=1).plan(False, lambda task: not unavailable(task))
    assert "body_descriptor" not in default.tasks()
    explicit = SdkQuery(detect_body=1, estimate_body_descriptor=1)
    assert "body_descriptor" in explicit.plan(False, lambda task: not unavailable(task)).tasks()
    assert SdkQuery(score_threshold=0.5, estimate_face_descriptor=0).plan(False).tasks()[-1] == (
        "face_descriptor")  # fmt: skip


def test_missing_estimator_is_the_licence_error_naming_it():
    plan = SdkQuery(detect_face=1, estimate_emotions=1).plan(store_samples=False)
    with pytest.raises(LunaError) as caught:
        plan.check(lambda task: task in BUILT)
    assert caught.value.kind.code == 11055 and caught.value.kind.status == 403
    assert "emotions" in caught.value.body["detail"]
    Plan(estimations=frozenset({"descriptor"})).check(lambda task: task in BUILT)


def test_estimations_on_the_source_image_are_refused_on_warps_where_strict():
    with pytest.raises(LunaError) as caught:
        DetectorQuery(warped_image=1, estimate_head_pose=1).plan().check(lambda t: True)
    assert caught.value.kind.code == 12012
    assert "not supported with warped images" in caught.value.body["detail"]
    with pytest.raises(LunaError):
        DetectorQuery(warped_image=1, yaw_threshold=10).plan().check(lambda t: True)
    # /1/sdk estimates what applies to each image and skips the rest.
    SdkQuery(image_type=1, estimate_head_pose=1).plan(False).check(lambda t: True)
    assert Plan(image_type=FACE_WARP).tasks() == []  # no detector for warps


def test_policies_give_the_same_plan_through_the_same_table():
    policies = Policies.model_validate(
        {
            "detect_policy": {"estimate_quality": 1, "yaw_threshold": 30},
            "extract_policy": {"extract_face_descriptor": 1, "fd_score_threshold": 0.7},
        }
    )
    plan = policy_plan(policies.detect_policy, policies.extract_policy)
    assert names(plan) == ["landmarks68", "head_pose", "quality", "descriptor"]
    assert plan.angle_thresholds == {"yaw": 30.0} and plan.score_threshold == 0.7
    assert [s.name for s in plan.stage(Stage.EXTRACT)] == ["descriptor"]


def test_handler_needs_follow_its_policies():
    liveness = Policies.model_validate({"detect_policy": {"estimate_liveness": {"estimate": 1}}})
    assert "liveness" in policy_tasks(liveness)
    matching = Policies.model_validate(
        {
            "match_policy": [
                {"label": "l", "candidates": {"list_id": "0" * 8 + "-0000-0000-0000-" + "0" * 12}}
            ]
        }
    )
    assert "face_descriptor" in policy_tasks(matching)
    tagged = Policies.model_validate(
        {"conditional_tags_policy": [{"tag": "t", "filters": {"ethnicities": ["asian"]}}]}
    )
    with pytest.raises(LunaError, match="License") as caught:
        check_policies(tagged, lambda task: task in BUILT)
    assert "ethnicity" in caught.value.body["detail"]
    check_policies(Policies(), lambda task: task in BUILT)


def event(age: float | None = None, gender: float | None = None, best: float | None = None):
    now = datetime.now(UTC)
    meta = EventMeta("h", "a", now, now, tags=("from-query",))
    record = EventRecord("e", meta, [])
    if age is not None:
        record.basic_attributes = AgeGender(age, gender if gender is not None else 0.0)
    if best is not None:
        record.matches = [MatchResult("known", [Candidate(best), Candidate(best / 2)])]
    return record


def test_filters_on_age_gender_and_match():
    adult_men = Filters(age__gte=18, gender=1)
    assert passes(adult_men, event(age=30.2, gender=0.9))
    assert not passes(adult_men, event(age=17.4, gender=0.9))
    assert not passes(adult_men, event(age=30, gender=0.2))
    assert not passes(adult_men, event())  # no estimate: the filter does not hold
    assert passes(Filters(age__lt=18), event(age=17.4))
    known = Filters.model_validate({"match": [{"label": "known", "similarity__gte": 0.8}]})
    assert passes(known, event(best=0.9)) and not passes(known, event(best=0.7))
    assert not passes(known, event())
    stranger = Filters.model_validate({"match": [{"label": "known", "similarity__lte": 0.5}]})
    assert passes(stranger, event(best=0.3)) and not passes(stranger, event(best=0.9))
    assert passes(Filters(), event())


def test_conditional_tags_keep_query_tags_and_add_each_passing_tag_once():
    policies = Policies.model_validate(
        {
            "conditional_tags_policy": [
                {"tag": "adult", "filters": {"age__gte": 18}},
                {"tag": "minor", "filters": {"age__lt": 18}},
                {"tag": "from-query", "filters": {}},
            ]
        }
    )
    grown, child = event(age=40), event(age=9)
    apply_tags(policies, [grown, child])
    assert grown.tags == ["from-query", "adult"]
    assert child.tags == ["from-query", "minor"]
