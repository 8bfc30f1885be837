"""Process definitions: deployment, the definitions repository (versions and parsed specs), diagrams."""
