"""The second-opinion pairing: what the firmware computes, and how below is chosen."""
import numpy as np

from digitmodel import pairing


def logits_for(probs):
    return np.log(np.asarray(probs, dtype=np.float64))


def test_only_unsure_digits_are_averaged_with_the_teacher():
    # Student: sure 3 (0.95), unsure 7 (0.5). Teacher: reads both as 8 (0.9).
    rest = lambda top, cls: [top if c == cls else (1 - top) / 10 for c in range(11)]  # noqa: E731
    student = logits_for([rest(0.95, 3), rest(0.5, 7)])
    teacher = logits_for([rest(0.9, 8), rest(0.9, 8)])
    p = pairing.pair_probs(student, teacher, 0.8)
    assert p[0].argmax() == 3 and abs(p[0, 3] - 0.95) < 1e-9
    assert p[1].argmax() == 8 and abs(p[1, 8] - (0.05 + 0.9) / 2) < 1e-9
    assert np.allclose(p.sum(1), 1)
    # The log form round-trips through softmax, so single-model threshold code applies.
    assert np.allclose(pairing.softmax(pairing.pair_logits(student, teacher, 0.8)), p)


def test_below_is_chosen_on_validation_and_ties_go_to_the_lowest():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 10, 400)
    # The student is right with p 0.6 on half the samples and wrong with p 0.45 on the rest;
    # the teacher is always right with p 0.9.
    student = np.full((400, 11), 0.0)
    wrong = np.arange(400) % 2 == 1
    student[~wrong, y[~wrong]] = 3.0
    student[wrong, (y[wrong] + 1) % 10] = 2.0
    teacher = np.zeros((400, 11))
    teacher[np.arange(400), y] = 6.0
    best, rows = pairing.choose_below(student, teacher, y)
    ps = pairing.softmax(student).max(1)
    assert ps[wrong].max() < 0.5 < ps[~wrong].min() < 0.7
    # Every below fixes the wrong half; 0.5 hands over the fewest.
    assert rows[0.5]["val"] == 1.0 and rows[0.9]["val"] == 1.0
    assert rows[0.5]["handed_over"] == 0.5 and rows[0.9]["handed_over"] == 1.0
    assert best == 0.5
    # A teacher that is wrong where the student is right makes handing those over worse.
    teacher[~wrong] = 0
    teacher[~wrong, (y[~wrong] + 2) % 10] = 9.0
    best, rows = pairing.choose_below(student, teacher, y)
    assert best == 0.5 and rows[0.9]["val"] < rows[0.5]["val"]


def test_pair_manifest_keeps_the_student_rule_and_lists_the_large_files():
    manifest = {"schema_version": 1, "reject": {"min_confidence": 0.4, "max_not_a_digit": 0.23, "rule": "text"},
                "files": [{"name": "digits.onnx"}], "metrics": {"a": 1}}
    out = pairing.pair_manifest(manifest, 0.7, {"min_confidence": 0.4, "max_not_a_digit": 0.3},
                                {"handed_over": 0.03}, [{"name": "large/digits.onnx"}])
    assert out["second_opinion"] == {"manifest": "large/MANIFEST.json", "below": 0.7}
    assert out["reject"]["max_not_a_digit"] == 0.3 and out["reject"]["rule"] == "text"
    assert out["reject"]["student_alone"] == {"min_confidence": 0.4, "max_not_a_digit": 0.23}
    assert [f["name"] for f in out["files"]] == ["digits.onnx", "large/digits.onnx"]
    assert out["metrics"] == {"a": 1, "second_opinion": {"handed_over": 0.03}}
    assert manifest["reject"]["max_not_a_digit"] == 0.23, "the input is not modified"


def test_student_manifest_undoes_the_pairing():
    for metrics in ({"metrics": {"a": 1}}, {}):
        manifest = {"schema_version": 1, "reject": {"min_confidence": 0.4, "max_not_a_digit": 0.23, "rule": "text"},
                    "files": [{"name": "digits.onnx"}], **metrics}
        large = [{"name": "large/digits.onnx"}, {"name": "large/MANIFEST.json"}]
        paired = pairing.pair_manifest(manifest, 0.7, {"min_confidence": 0.5, "max_not_a_digit": 0.3},
                                       {"handed_over": 0.03}, large)
        assert pairing.student_manifest(paired) == manifest
        assert pairing.student_manifest(manifest) == manifest, "an unpaired manifest is kept as it is"


def test_the_committed_manifest_unpairs_to_a_student_manifest():
    import json
    from pathlib import Path
    paired = json.loads((Path(__file__).resolve().parents[1] / "artifacts" / "MANIFEST.json").read_text())
    alone = pairing.student_manifest(paired)
    assert "second_opinion" not in alone and "second_opinion" not in alone.get("metrics", {})
    assert alone["reject"]["max_not_a_digit"] == paired["reject"]["student_alone"]["max_not_a_digit"]
    assert "student_alone" not in alone["reject"]
    assert not any(f["name"].startswith("large/") for f in alone["files"])
    large = [f for f in paired["files"] if f["name"].startswith("large/")]
    again = pairing.pair_manifest(alone, paired["second_opinion"]["below"], paired["reject"],
                                  paired["metrics"]["second_opinion"], large)
    assert again == paired, "pairing the unpaired manifest again gives the committed one back"

