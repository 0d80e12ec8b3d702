"""The planet: a global campaign, simulated (``python -m bench.planet``; docs/scale.md).

Nobody can run 10,000 chapter nodes here, so this is a discrete-event model with a virtual
clock (``engine``) of a synthetic fediverse (``world``) whose nodes (``nodes``) charge the
per-operation costs measured on this machine in the same run (``costs``) and follow the node's
own policies, called rather than re-implemented (``policies``). ``scenario`` plays the campaign,
``validate`` holds the model against a real fan-out (``bench.fanout``) in the same run,
``report`` prints the figures and the rows, ``chart`` draws them.
"""
