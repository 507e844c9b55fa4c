VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8501

.PHONY: install run test lint format up down seed check bench

$(VENV)/.installed: requirements.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

install: $(VENV)/.installed

## make run: embedded stack (unless DATABASE_URL/KAFKA_BOOTSTRAP_SERVERS are set), demo data, app
run: install
	$(PY) manage.py up
	eval "$$($(PY) manage.py env)" && $(PY) manage.py seed --scale small --if-empty \
		&& $(PY) -m streamlit run dashboard.py --server.port $(PORT) --server.headless true

## make test: the whole suite; fixtures start their own PostgreSQL and broker
test: install
	$(PY) -m ruff check .
	$(PY) -m pytest

lint: install
	$(PY) -m ruff check .

format: install
	$(PY) -m ruff format .

up: install
	$(PY) manage.py up

down: install
	$(PY) manage.py down
