// /dashboard/projects/{id}: one project's operations, from the API's projectOperations.
//
// What shows is what the API answers: the whole project for managers, admins and QA (scope
// PROJECT), the caller's own figures for an annotator or reviewer (scope SELF: no queue, no
// attention list), and "not found" for a project the caller cannot read (null), like a missing one.

import { ApiError, graphql } from "./api.js";
import { chart, chartsAvailable, destroyCharts, drawCharts } from "./charts.js";
import { bucketLabel, classLabel, duration, el, note, number, percent, personLabel, table, tiles } from "./format.js";
import { start } from "./signin.js";

const USER = "id username displayName";
const LATENCY = "count medianSeconds p90Seconds";
const OPERATIONS = `
query DashboardProject($id: ID!, $from: DateTime, $to: DateTime, $bucketHours: Int) {
  project(id: $id) { id name }
  projectOperations(projectId: $id, from: $from, to: $to, bucketHours: $bucketHours) {
    scope from to bucketHours
    throughput { start labels decisions }
    annotators {
      annotator { ${USER} }
      labels labelsPerHour reviewRejections rejectionRate goldAnswered goldAccuracy medianClaimToSubmitSeconds
    }
    errors {
      reviews reviewRejections rejectionRate audits auditOverturns overturnRate goldAnswered goldMisses goldMissRate
      classes { field value labels reviewRejections auditOverturns goldMisses }
    }
    latency { claimToSubmit { ${LATENCY} } importToDecision { ${LATENCY} } }
    drift { start decisions agreement distribution { field value share } divergenceFromFirst }
    queue { depth oldestWaitingSeconds stages { status count oldestWaitingSeconds } }
    attention { annotator { ${USER} } reasons detail }
  }
}`;

// The period picker: its name in the URL (?period=), how far back, and the bucket size.
const PERIODS = {
  "24h": { label: "Last 24 h", hours: 24, bucketHours: 1 },
  "7d": { label: "Last 7 days", hours: 24 * 7, bucketHours: 6 },
  "30d": { label: "Last 30 days", hours: 24 * 30, bucketHours: 24 },
};
const DEFAULT_PERIOD = "7d";
const REASONS = {
  SUSPENDED: "suspended",
  CERTIFICATE_EXPIRING: "certificate expiring",
  LOW_GOLD_ACCURACY: "low gold accuracy",
  HIGH_REJECTION_RATE: "high rejection rate",
};
const HOUR_MS = 3600 * 1000;

function projectId() {
  const match = /^\/dashboard\/projects\/([^/]+)$/.exec(window.location.pathname);
  return match ? decodeURIComponent(match[1]) : "";
}

function periodName() {
  const name = new URLSearchParams(window.location.search).get("period");
  return Object.hasOwn(PERIODS, name ?? "") ? name : DEFAULT_PERIOD;
}

/** [from, to) ending at the next full hour, so buckets start on the hour. */
function timeSpan(period) {
  const to = Math.ceil(Date.now() / HOUR_MS) * HOUR_MS;
  return { from: new Date(to - period.hours * HOUR_MS).toISOString(), to: new Date(to).toISOString() };
}

function section(name, title, ...content) {
  return el("section", { class: "panel", id: `panel-${name}`, "aria-labelledby": `title-${name}` }, el("h2", { id: `title-${name}` }, title), ...content);
}

function throughputPanel(ops, self) {
  const hours = ops.bucketHours;
  const labels = ops.throughput.reduce((sum, bucket) => sum + bucket.labels, 0);
  const decisions = ops.throughput.reduce((sum, bucket) => sum + bucket.decisions, 0);
  const span = (Date.parse(ops.to) - Date.parse(ops.from)) / HOUR_MS;
  const perBucket = chart("throughput", `${self ? "Your labels" : "Labels"} and decisions per hour (buckets of ${hours} h)`, "line", {
    labels: ops.throughput.map((bucket) => bucketLabel(bucket.start)),
    datasets: [
      { label: "labels per hour", data: ops.throughput.map((bucket) => bucket.labels / hours) },
      { label: "decisions per hour", data: ops.throughput.map((bucket) => bucket.decisions / hours) },
    ],
  });
  const rows = ops.annotators.map((row) => [
    personLabel(row.annotator),
    String(row.labels),
    number(row.labelsPerHour, 2),
    `${row.reviewRejections} (${percent(row.rejectionRate)})`,
    `${row.goldAnswered} (${percent(row.goldAccuracy)})`,
    duration(row.medianClaimToSubmitSeconds),
  ]);
  const headers = ["Annotator", "Labels", "Labels per hour", "Review rejections", "Gold answered (accuracy)", "Median claim → submit"];
  return section(
    "throughput",
    self ? "Your throughput" : "Throughput",
    tiles([
      [self ? "Your labels" : "Labels", String(labels), "labels"],
      ["Labels per hour", number(span > 0 ? labels / span : null, 2), "labels-per-hour"],
      ["Decisions", String(decisions), "decisions"],
    ]),
    perBucket,
    self
      ? null
      : chart("annotators", "Labels per hour, per annotator", "bar", {
          labels: ops.annotators.map((row) => personLabel(row.annotator)),
          datasets: [{ label: "labels per hour", data: ops.annotators.map((row) => row.labelsPerHour) }],
        }),
    rows.length ? table(self ? "Your figures" : "Per annotator", headers, rows) : note("No labels in this period."),
  );
}

function errorsPanel(ops, self) {
  const errors = ops.errors;
  const classes = errors.classes;
  return section(
    "errors",
    self ? "Your error rates" : "Error rates",
    tiles([
      ["Review rejections", `${errors.reviewRejections} of ${errors.reviews} (${percent(errors.rejectionRate)})`, "rejection-rate"],
      ["Audit overturns", `${errors.auditOverturns} of ${errors.audits} (${percent(errors.overturnRate)})`, "overturn-rate"],
      ["Gold misses", `${errors.goldMisses} of ${errors.goldAnswered} (${percent(errors.goldMissRate)})`, "gold-miss-rate"],
    ]),
    chart(
      "errors-by-class",
      "Errors per class",
      "bar",
      {
        labels: classes.map((row) => classLabel(row.field, row.value)),
        datasets: [
          { label: "review rejections", data: classes.map((row) => row.reviewRejections) },
          { label: "audit overturns", data: classes.map((row) => row.auditOverturns) },
          { label: "gold misses", data: classes.map((row) => row.goldMisses) },
        ],
      },
      { empty: "No labels by class in this period.", stacked: true },
    ),
    classes.length
      ? table(
          "Per class",
          ["Class", "Labels", "Review rejections", "Audit overturns", "Gold misses"],
          classes.map((row) => [
            classLabel(row.field, row.value),
            String(row.labels),
            String(row.reviewRejections),
            String(row.auditOverturns),
            String(row.goldMisses),
          ]),
        )
      : null,
  );
}

function latencyPanel(ops) {
  const { claimToSubmit, importToDecision } = ops.latency;
  const figures = [claimToSubmit, importToDecision];
  const counted = figures.some((figure) => figure.count > 0);
  return section(
    "latency",
    "Latency",
    tiles([
      ["Claim → submit (median / p90)", `${duration(claimToSubmit.medianSeconds)} / ${duration(claimToSubmit.p90Seconds)} of ${claimToSubmit.count}`, "claim-to-submit"],
      ["Import → decision (median / p90)", `${duration(importToDecision.medianSeconds)} / ${duration(importToDecision.p90Seconds)} of ${importToDecision.count}`, "import-to-decision"],
    ]),
    chart(
      "latency",
      "Latency: median and 90th percentile",
      "bar",
      counted
        ? {
            labels: ["claim → submit", "import → decision"],
            datasets: [
              { label: "median", data: figures.map((figure) => figure.medianSeconds) },
              { label: "90th percentile", data: figures.map((figure) => figure.p90Seconds) },
            ],
          }
        : { labels: [], datasets: [] },
      {
        empty: "Nothing was submitted or decided in this period.",
        // Seconds to claim and submit, hours to a decision: one logarithmic axis shows both.
        options: { scales: { y: { type: "logarithmic", title: { display: true, text: "seconds" } } } },
      },
    ),
  );
}

function driftPanel(ops) {
  const buckets = ops.drift;
  const labels = buckets.map((bucket) => bucketLabel(bucket.start));
  // Each field's classes share one stack (they add up to 1 per field and bucket).
  const classes = new Map();
  for (const bucket of buckets) {
    for (const share of bucket.distribution) {
      const name = classLabel(share.field, share.value);
      if (!classes.has(name)) {
        classes.set(name, share.field);
      }
    }
  }
  const shareOf = (bucket, name) =>
    bucket.distribution.find((share) => classLabel(share.field, share.value) === name)?.share ?? 0;
  return section(
    "drift",
    "Agreement and label drift",
    chart(
      "drift",
      "Agreement, and distance of the label distribution from the first bucket's (Jensen-Shannon)",
      "line",
      {
        labels,
        datasets: [
          { label: "agreement", data: buckets.map((bucket) => bucket.agreement) },
          { label: "drift from the first bucket", data: buckets.map((bucket) => bucket.divergenceFromFirst) },
        ],
      },
      { empty: "No decisions in this period.", options: { scales: { y: { beginAtZero: true, suggestedMax: 1 } } } },
    ),
    chart(
      "distribution",
      "Share of each class among decisions (a bar per field)",
      "bar",
      {
        labels,
        datasets: [...classes].map(([name, field]) => ({
          label: name,
          stack: field,
          data: buckets.map((bucket) => shareOf(bucket, name)),
        })),
      },
      { empty: "No decisions in this period.", stacked: true },
    ),
  );
}

function queuePanel(queue) {
  return section(
    "queue",
    "Queue",
    tiles([
      ["Items waiting", String(queue.depth), "queue-depth"],
      ["Oldest waiting", duration(queue.oldestWaitingSeconds), "oldest-waiting"],
    ]),
    chart(
      "queue",
      "Where items wait",
      "bar",
      {
        labels: queue.stages.map((stage) => stage.status),
        datasets: [{ label: "items", data: queue.stages.map((stage) => stage.count) }],
      },
      { empty: "No items wait." },
    ),
    queue.stages.length
      ? table(
          "Per stage",
          ["Stage", "Items", "Oldest waiting"],
          queue.stages.map((stage) => [stage.status, String(stage.count), duration(stage.oldestWaitingSeconds)]),
        )
      : null,
  );
}

function attentionPanel(attention) {
  return section(
    "attention",
    "Annotators needing attention",
    attention.length
      ? table(
          "Needs attention",
          ["Annotator", "Why", "Detail"],
          attention.map((row) => [
            personLabel(row.annotator),
            row.reasons.map((reason) => REASONS[reason] ?? reason).join(", "),
            row.detail,
          ]),
          [],
        )
      : note("No annotator needs attention."),
  );
}

function periodPicker(current, onPick) {
  return el(
    "nav",
    { class: "periods", "aria-label": "Period" },
    Object.entries(PERIODS).map(([name, period]) => {
      const link = el(
        "a",
        { href: `?period=${name}`, "aria-current": name === current ? "true" : null, dataset: { period: name } },
        period.label,
      );
      link.addEventListener("click", (event) => {
        event.preventDefault();
        window.history.pushState(null, "", `?period=${name}`);
        onPick();
      });
      return link;
    }),
  );
}

function notFound(main) {
  document.title = "Not found · Labelgraph";
  main.replaceChildren(
    el("h1", {}, "Not found"),
    el("p", { id: "not-found" }, "There is no such project, or you hold no role in it."),
    el("p", {}, el("a", { href: "/dashboard/" }, "Your projects")),
  );
}

function forbidden(main, project) {
  document.title = `${project.name} · Labelgraph`;
  main.replaceChildren(
    el("h1", {}, project.name),
    el("p", { id: "no-figures" }, "Your role in this project has no operations figures to show."),
    el("p", {}, el("a", { href: "/dashboard/" }, "Your projects")),
  );
  main.dataset.ready = "true";
}

async function show(main, again) {
  delete main.dataset.ready;
  if (!chartsAvailable()) {
    main.replaceChildren(
      note("The charts could not start: Chart.js did not load from /dashboard/assets/. Install it with `make frontend` in the checkout, then reload.", "problem"),
    );
    return;
  }
  const id = projectId();
  const name = periodName();
  const period = PERIODS[name];
  const { from, to } = timeSpan(period);
  let data;
  try {
    data = await graphql(OPERATIONS, { id, from, to, bucketHours: period.bucketHours });
  } catch (error) {
    // A role that reads the project but not its operations (an expert, a compliance officer).
    if (error instanceof ApiError && error.codes.includes("FORBIDDEN") && error.data?.project) {
      destroyCharts(main);
      forbidden(main, error.data.project);
      return;
    }
    throw error;
  }
  destroyCharts(main);
  const ops = data.projectOperations;
  if (!data.project || !ops) {
    notFound(main);
    return;
  }
  const self = ops.scope === "SELF";
  document.title = `${data.project.name} · Labelgraph`;
  const operations = el(
    "div",
    {
      id: "operations",
      dataset: { scope: ops.scope, from: ops.from, to: ops.to, bucketHours: String(ops.bucketHours) },
    },
    el("p", { class: "scope", id: "scope" }, self ? "Your figures only" : "The whole project"),
    throughputPanel(ops, self),
    errorsPanel(ops, self),
    latencyPanel(ops),
    driftPanel(ops),
    self || !ops.queue ? null : queuePanel(ops.queue),
    self ? null : attentionPanel(ops.attention),
  );
  main.replaceChildren(
    el(
      "header",
      { class: "project-head" },
      el("p", {}, el("a", { href: "/dashboard/" }, "← Projects")),
      el("h1", {}, data.project.name),
      periodPicker(name, again),
      el("p", { class: "muted" }, `${new Date(ops.from).toISOString().slice(0, 16)} – ${new Date(ops.to).toISOString().slice(0, 16)} UTC`),
    ),
    operations,
  );
  drawCharts(main);
  main.dataset.ready = "true";
}

start(show);
