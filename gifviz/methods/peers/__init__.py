"""The peer methods: other ways to measure how close models are, each a :class:`~gifviz.methods.interface.
DistanceMethod` registered beside ModelGiF in :mod:`gifviz.methods.registry`.

- :mod:`~gifviz.methods.peers.outputs`: output disagreement and softmax distance;
- :mod:`~gifviz.methods.peers.modeldiff`: ModelDiff's decision distance vectors;
- :mod:`~gifviz.methods.peers.sac`: sample correlation (SAC-w, SAC-m);
- :mod:`~gifviz.methods.peers.cka`: linear CKA of penultimate features;
- :mod:`~gifviz.methods.peers.zest`: ZEST's LIME explanations;
- :mod:`~gifviz.methods.peers.evaluation`: the batched model evaluation they share.
"""
