// /dashboard/: the projects the signed-in user holds a role in, each linking to its page.

import { graphql } from "./api.js";
import { el, note } from "./format.js";
import { start } from "./signin.js";

const PROJECTS = "query DashboardProjects { projects(first: 100) { nodes { id name description } } }";

start(async (main) => {
  const { projects } = await graphql(PROJECTS);
  const nodes = projects?.nodes ?? [];
  const list = nodes.length
    ? el(
        "ul",
        { class: "projects" },
        nodes.map((project) =>
          el(
            "li",
            {},
            el("a", { href: `/dashboard/projects/${encodeURIComponent(project.id)}` }, project.name),
            project.description ? el("span", { class: "muted" }, ` ${project.description}`) : null,
          ),
        ),
      )
    : note("You hold a role in no project yet.");
  main.replaceChildren(el("h1", {}, "Projects"), list);
});
