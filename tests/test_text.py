"""The text front end: tokenization, vocabulary filtering, documents grouped into domains."""
import numpy as np
import pytest

from lls_topics.text import (STOP_WORDS, read_documents, read_domain_map, read_text_corpus,
                             text_corpus, tokenize)

DOCS = [
    "The cat sat on the mat with another cat.",
    "A cat and a dog said hello; the dog barked.",
    "Dogs and cats: the dog said nothing, the cat said less.",
    "Stocks fell as markets said the rally was over.",
    "Markets rose; stocks and bonds said to rally.",
    "Bonds rally while stocks fall, markets said.",
]


def test_tokenize_lowercases_drops_short_words_and_stop_words():
    words = tokenize("The Cat sat on a MAT, and the cat's x-ray was fine!")
    assert words == [w.lower() for w in words]
    assert all(len(w) >= 3 for w in words)
    assert not set(words) & STOP_WORDS
    assert "cat" in words and "mat" in words
    assert "the" not in tokenize("the the the cat", stop_words=STOP_WORDS)
    assert "the" in tokenize("the cat", stop_words=None)


def test_no_above_drops_words_in_most_documents():
    kept = text_corpus(DOCS, no_below=1, no_above=1.0).vocabulary
    assert "said" in kept
    filtered = text_corpus(DOCS, no_below=1, no_above=0.5).vocabulary
    # "said" is in 6 of 6 documents: more than half
    assert "said" not in filtered
    assert "cat" in filtered and "markets" in filtered


def test_no_below_and_keep_n():
    c = text_corpus(DOCS, no_below=2, no_above=1.0)
    assert "hello" not in c.vocabulary          # in one document only
    assert "rally" in c.vocabulary              # in three
    c3 = text_corpus(DOCS, no_below=1, no_above=1.0, keep_n=3)
    assert c3.n_words == 3
    assert "said" in c3.vocabulary              # the most frequent word survives keep_n


def test_documents_are_grouped_into_domains_and_counts_add_up():
    domains = ["pets", "pets", "pets", "money", "money", "money"]
    by_doc = text_corpus(DOCS, no_below=1, no_above=1.0)
    by_dom = text_corpus(DOCS, domains, no_below=1, no_above=1.0)
    assert by_doc.n_domains == 6 and by_dom.n_domains == 2
    assert sorted(by_dom.domain_ids.tolist()) == ["money", "pets"]
    assert by_dom.n_samples == by_doc.n_samples
    # the pets domain is the sum of the first three documents' counts
    pets = by_dom.counts[by_dom.domain_index(["pets"])[0]].toarray().ravel()
    first3 = np.asarray(by_doc.counts[:3].sum(axis=0)).ravel()
    assert np.array_equal(pets, first3)
    cat = by_dom.vocabulary.index("cat")
    assert pets[cat] == 4 and by_dom.counts[by_dom.domain_index(["money"])[0], cat] == 0


def test_token_lists_are_accepted_as_documents():
    c = text_corpus([["alpha", "beta"], ["alpha", "gamma"], ["alpha", "beta"]],
                    no_below=2, no_above=1.0)
    assert sorted(c.vocabulary) == ["alpha", "beta"]
    assert c.n_samples == 5


@pytest.mark.parametrize("kwargs, match", [
    (dict(no_below=0), "no_below"),
    (dict(no_below=2.5), "no_below"),
    (dict(no_above=0.0), "no_above"),
    (dict(no_above=1.5), "no_above"),
    (dict(keep_n=0), "keep_n"),
    (dict(no_below=50), "no word is left"),
])
def test_bad_options_raise_value_error(kwargs, match):
    opts = dict(no_below=1, no_above=1.0)
    opts.update(kwargs)
    with pytest.raises(ValueError, match=match):
        text_corpus(DOCS, **opts)


def test_bad_documents_raise_value_error():
    with pytest.raises(ValueError, match="empty"):
        text_corpus([])
    with pytest.raises(ValueError, match="sequence of texts"):
        text_corpus("one string is not a corpus")
    with pytest.raises(ValueError, match=r"documents\[1\]"):
        text_corpus(["fine text here", 3])
    with pytest.raises(ValueError, match="one domain per document"):
        text_corpus(DOCS, ["a", "b"])
    with pytest.raises(ValueError, match="no words"):
        text_corpus(["the and of", "a an the"], no_below=1)


def _folder(tmp_path, docs=DOCS):
    folder = tmp_path / "docs"
    folder.mkdir()
    for i, text in enumerate(docs):
        (folder / f"doc{i}.txt").write_text(text)
    return folder


def test_folder_with_domain_map(tmp_path):
    folder = _folder(tmp_path)
    csv = tmp_path / "domains.csv"
    # both the file name and its stem name a document
    csv.write_text("document,domain\ndoc0.txt,pets\ndoc1,pets\ndoc2,pets\n"
                   "doc3,money\ndoc4,money\ndoc5.txt,money\n")
    c = read_text_corpus(folder, csv, no_below=1, no_above=1.0)
    assert sorted(c.domain_ids.tolist()) == ["money", "pets"]
    direct = text_corpus(DOCS, ["pets"] * 3 + ["money"] * 3, no_below=1, no_above=1.0)
    assert c.vocabulary == direct.vocabulary
    assert (c.counts != direct.counts).nnz == 0
    # without a map, each file is a domain named by its stem
    c6 = read_text_corpus(folder, no_below=1, no_above=1.0)
    assert c6.domain_ids.tolist() == [f"doc{i}" for i in range(6)]


def test_domain_map_errors(tmp_path):
    folder = _folder(tmp_path)
    csv = tmp_path / "d.csv"
    csv.write_text("document,domain\ndoc0,a\ndoc1,b\n")
    with pytest.raises(ValueError, match="no domain for 4 file"):
        read_text_corpus(folder, csv)
    csv.write_text("document,domain\n" + "".join(f"doc{i},a\n" for i in range(6))
                   + "ghost,b\n")
    with pytest.raises(ValueError, match="not in"):
        read_text_corpus(folder, csv)
    csv.write_text("doc,group\ndoc0,a\n")
    with pytest.raises(ValueError, match="'document' and 'domain'"):
        read_domain_map(csv)
    csv.write_text("document,domain\ndoc0,a\ndoc0,b\n")
    with pytest.raises(ValueError, match="two domains"):
        read_domain_map(csv)
    csv.write_text("document,domain\n")
    with pytest.raises(ValueError, match="no rows"):
        read_domain_map(csv)
    with pytest.raises(ValueError, match="not a file"):
        read_domain_map(tmp_path / "missing.csv")


def test_read_documents_errors(tmp_path):
    with pytest.raises(ValueError, match="not a directory"):
        read_documents(tmp_path / "nope")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no files"):
        read_documents(empty)
    (empty / "bin.dat").write_bytes(b"\x00\x01\x02")
    with pytest.raises(ValueError, match="binary"):
        read_documents(empty)


# ------------------------------------------------------------------------------ CLI
def _themed_folder(tmp_path, n_docs=24, filler="said"):
    """Documents of three themes, each with a filler word every document uses."""
    rng = np.random.default_rng(0)
    themes = [["apple", "banana", "cherry", "grape", "melon"],
              ["engine", "wheel", "brake", "clutch", "piston"],
              ["violin", "cello", "flute", "oboe", "trumpet"]]
    folder = tmp_path / "docs"
    folder.mkdir()
    rows = ["document,domain"]
    for i in range(n_docs):
        y = i % 3
        words = [themes[y][j] for j in rng.integers(0, 5, size=40)] + [filler] * 30
        (folder / f"d{i:02d}.txt").write_text(" ".join(words))
        # six domains of four documents with different theme mixes
        rows.append(f"d{i:02d}.txt,site{(i * 7) % 6}")
    (tmp_path / "domains.csv").write_text("\n".join(rows) + "\n")
    return folder, tmp_path / "domains.csv"


def test_cli_fit_groups_documents_and_filters_frequent_words(tmp_path, capsys):
    from lls_topics import cli

    folder, domains = _themed_folder(tmp_path)
    out = tmp_path / "out"
    code = cli.main(["fit", str(folder), "-k", "3", "--domains", str(domains),
                     "--no-below", "2", "--no-above", "0.5", "--out", str(out), "-q"])
    assert code == 0, capsys.readouterr().err
    lines = (out / "domain_topic.csv").read_text().splitlines()
    assert sorted(line.split(",")[0] for line in lines[1:]) == [f"site{i}" for i in range(6)]
    assert "said" not in (out / "top_words.txt").read_text().split()
    # without --no-above the filler word leads every label
    out2 = tmp_path / "out2"
    assert cli.main(["fit", str(folder), "-k", "3", "--domains", str(domains),
                     "--out", str(out2), "-q"]) == 0
    assert "said" in (out2 / "top_words.txt").read_text().split()


def test_cli_domain_map_errors_are_one_line(tmp_path, capsys):
    from lls_topics import cli

    folder, domains = _themed_folder(tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text("file,group\nd00.txt,a\n")
    assert cli.main(["fit", str(folder), "-k", "3", "--domains", str(bad),
                     "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "'document' and 'domain'" in err and "Traceback" not in err
    counts = tmp_path / "c.csv"
    counts.write_text("domain,token\na,x\nb,y\n")
    assert cli.main(["fit", str(counts), "-k", "2", "--domains", str(domains),
                     "--out", str(tmp_path / "o2")]) == 2
    assert "text folder" in capsys.readouterr().err


@pytest.mark.parametrize("option,value,needle", [
    ("--no-below", "-3", "--no-below"), ("--keep-n", "0", "--keep-n"),
    ("--no-above", "3", "no_above"), ("--no-above", "0", "no_above")])
def test_cli_out_of_range_filters_exit_2(tmp_path, capsys, option, value, needle):
    from lls_topics import cli

    folder, _ = _themed_folder(tmp_path)
    out = tmp_path / "o"
    assert cli.main(["fit", str(folder), "-k", "3", option, value, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (out / "domain_topic.csv").exists()
