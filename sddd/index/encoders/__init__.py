"""Sentence encoders behind one interface: the bundled MiniLM through onnxruntime, any
sentence-transformers model through torch, and the multilingual USE in numpy."""
