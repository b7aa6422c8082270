// The graph of layers as SVG: dagre (vendored) lays it out, this module only draws boxes,
// edges and the shape carried by each edge. Text goes in with textContent.

const SVG = "http://www.w3.org/2000/svg";
const INPUT_NODE = "__input";

function svg(tag, attrs = {}, text = "") {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text) node.textContent = text;
  return node;
}

function shortShape(shape) {
  return Array.isArray(shape) ? shape.join("×") : "";
}

// layers: [{uid, id, type, summary, inputs (effective ids)}]; shapes: id -> output shape;
// bad: set of uids with errors; onSelect(uid) when a node is clicked or activated.
export function drawDiagram(container, { inputShape, layers, shapes, bad, selected }, onSelect) {
  container.replaceChildren();
  if (typeof dagre === "undefined") return;
  const graph = new dagre.graphlib.Graph();
  graph.setGraph({ rankdir: "TB", nodesep: 18, ranksep: 34, marginx: 6, marginy: 6 });
  graph.setDefaultEdgeLabel(() => ({}));
  const byId = new Map();
  graph.setNode(INPUT_NODE, { title: "input", sub: shortShape(inputShape), width: 110, height: 38 });
  for (const layer of layers) {
    const width = Math.max(110, 7 * Math.max(layer.type.length, layer.id.length) + 24);
    graph.setNode(layer.uid, { title: layer.type, sub: layer.id, width, height: 38, layer });
    if (layer.id) byId.set(layer.id, layer.uid);
  }
  for (const layer of layers) {
    for (const ref of layer.inputs) {
      const source = ref === "input" ? INPUT_NODE : byId.get(ref);
      if (!source) continue;
      const shape = ref === "input" ? inputShape : shapes.get(ref);
      const label = shortShape(shape);
      graph.setEdge(source, layer.uid, { label, width: label.length * 6.5 + 6, height: 14, labelpos: "c" });
    }
  }
  dagre.layout(graph);
  const size = graph.graph();
  const root = svg("svg", {
    viewBox: `0 0 ${Math.ceil(size.width)} ${Math.ceil(size.height)}`,
    class: "diagram-svg",
    role: "group",
    "aria-label": "Diagram of the layers; activate a box to select its layer",
  });
  root.setAttribute("width", String(Math.ceil(size.width)));
  const defs = svg("defs");
  const marker = svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto" });
  marker.append(svg("path", { d: "M0,0 L10,5 L0,10 z", class: "arrow-head" }));
  defs.append(marker);
  root.append(defs);
  for (const edgeRef of graph.edges()) {
    const edge = graph.edge(edgeRef);
    const d = edge.points.map((p, i) => `${i ? "L" : "M"}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" ");
    root.append(svg("path", { d, class: "edge", "marker-end": "url(#arrow)" }));
    if (edge.label) {
      root.append(svg("text", { x: edge.x.toFixed(1), y: (edge.y + 4).toFixed(1), class: "edge-label" }, edge.label));
    }
  }
  for (const key of graph.nodes()) {
    const node = graph.node(key);
    const group = svg("g", {
      transform: `translate(${(node.x - node.width / 2).toFixed(1)},${(node.y - node.height / 2).toFixed(1)})`,
      class: "node" + (bad.has(key) ? " node-bad" : "") + (key === selected ? " node-selected" : "") + (key === INPUT_NODE ? " node-input" : ""),
      "data-uid": key,
    });
    group.append(svg("rect", { width: node.width, height: node.height, rx: 5 }));
    group.append(svg("text", { x: node.width / 2, y: 16, class: "node-title" }, node.title + (bad.has(key) ? " ⚠" : "")));
    group.append(svg("text", { x: node.width / 2, y: 31, class: "node-sub" }, node.sub || ""));
    if (key !== INPUT_NODE) {
      group.setAttribute("tabindex", "0");
      group.setAttribute("role", "button");
      group.addEventListener("click", () => onSelect(key));
      group.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          onSelect(key);
        }
      });
    }
    root.append(group);
  }
  container.append(root);
}
