"""List the tasks rnnkit trains, with their data sources and whether each is installed here.

examples:
  rnnkit tasks
  rnnkit tasks --json
"""

from __future__ import annotations

import json

from rnnkit.tasks import TASKS, task_class


def add_arguments(p) -> None:
    p.add_argument("--json", action="store_true", help="one JSON object: task -> its description and sources")


def run(args) -> int:
    listing = {}
    for name in TASKS:
        task = task_class(name)
        listing[name] = {"summary": task.summary, "model": task.model_kind, "metric": task.metric,
                         "sources": [source._asdict() for source in task.sources()]}
    if args.json:
        print(json.dumps(listing, indent=2))
        return 0
    for name, info in listing.items():
        print(f"{name}: {info['summary']} (model {info['model']}, metric {info['metric']})")
        for source in info["sources"]:
            status = "installed" if source["installed"] else f"not installed: {source['install']}"
            print(f"  --data {source['name']:<8} {source['description']} [{status}]")
    return 0
