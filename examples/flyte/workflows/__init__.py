"""flytekit workflows that kubeshim's Flyte end-to-end tests run on stock flytepropeller.

Serialize from examples/flyte (so the modules are `workflows.<name>`):

    cd examples/flyte && pyflyte --pkgs workflows serialize --local-source-root . workflows -f OUT_DIR

The task pods import these modules from the task environment's PYTHONPATH (the image rule of
the kubeshim config puts examples/flyte on it), as a real image would have the code baked in.
"""
