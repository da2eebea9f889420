"""The runners: ImageModel (what every runner shares), Classifier, Embedder, the Pipeline they run
per frame, and the Prediction they return."""
