// An empty preload: what --import itself costs (Node starts its ES module loader).
