from pipeline.core.demo.dataset import TITLES, title_names


def test_title_names_keep_the_named_titles_then_generate():
    assert title_names(3) == TITLES[:3]
    names = title_names(62)
    assert names[:12] == TITLES
    assert names[12] == "Title013" and names[-1] == "Title062"
    assert len(set(names)) == 62
