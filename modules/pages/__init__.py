"""Environment pages: `docs/<env>.md`, what each environment runs, with a Mermaid architecture diagram.

Rendered by every synth from the config the stacks are built from (jinja2, `environment.md.j2`);
each diagram node names the Terraform resources it stands for. Imports nothing from cdktf.
"""

from modules.pages.diagram import Diagram, Edge, Node, architecture
from modules.pages.environment import EnvironmentPage, render_page

__all__ = ["Diagram", "Edge", "EnvironmentPage", "Node", "architecture", "render_page"]
