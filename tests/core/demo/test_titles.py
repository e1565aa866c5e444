from pipeline.core.demo.dataset import TITLES, title_names


def test_title_names_keep_the_named_titles_then_generate():
    assert title_names(3) == TITLES[:3]
    names = title_names(62)
    assert names[:12] == TITLES
    assert names[12] == "Title013" and names[-1] == "Title062"
    assert len(set(names)) == 62


def _digest(folder):
    import hashlib

    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            h.update(path.relative_to(folder).as_posix().encode() + path.read_bytes())
    return h.hexdigest()


def test_a_demo_of_twenty_titles_names_them_all_and_folds_by_title(tmp_path):
    from pipeline.core.data.folds import assign_folds, title_of
    from pipeline.core.demo.dataset import build

    demo = {"seed": 1, "titles": 20, "pages_per_title": 2, "test_pages": 2, "size": 32}
    demo["preset"] = "magazine"
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        build(tmp_path / name, demo)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    stems = sorted(p.stem for p in (tmp_path / "a" / "train" / "scan").iterdir())
    assert len(stems) == 40
    assert sorted({title_of(s) for s in stems}) == sorted(title_names(20))
    test_stems = [p.stem for p in (tmp_path / "a" / "test" / "scan").iterdir()]
    assert {title_of(s) for s in test_stems} == {"Title021", "Title022"}
    folds = assign_folds(stems, 5)
    for title in title_names(20):  # a title's pages share one fold, 4 titles a fold
        assert len({folds[s] for s in stems if title_of(s) == title}) == 1
    assert sorted(folds.values()).count(0) == 8
