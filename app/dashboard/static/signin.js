// The frame both pages share: the sign-in form while no one is signed in, the signed-in user and
// the sign-out button in the header, and the way back to the form when the sign-in ends.

import { ApiError, SignedOut, graphql, signIn, signOut, signedIn } from "./api.js";
import { el, note } from "./format.js";

const VIEWER = "query DashboardViewer { viewer { username } }";

/**
 * Runs show(main, again) once someone is signed in, after showing the sign-in form if needed.
 * again() shows it anew (another period, say); show may throw SignedOut (a token no longer
 * accepted): the form comes back.
 */
export function start(show) {
  const main = document.getElementById("main");
  const who = document.getElementById("who");
  const out = document.getElementById("sign-out");
  out.addEventListener("click", async () => {
    out.disabled = true;
    await signOut();
    out.disabled = false;
    form();
  });

  async function run() {
    main.replaceChildren(note("Loading…", "loading"));
    try {
      const { viewer } = await graphql(VIEWER);
      who.textContent = `Signed in as ${viewer.username}`;
      out.hidden = false;
      await show(main, run);
    } catch (error) {
      if (error instanceof SignedOut) {
        form("Your sign-in has ended: sign in again.");
      } else {
        main.replaceChildren(note(error instanceof ApiError ? error.message : `The page failed: ${error}`, "problem"));
      }
    }
  }

  function form(message = "") {
    who.textContent = "";
    out.hidden = true;
    const problem = el("p", { class: "problem", role: "alert", id: "sign-in-problem" }, message);
    problem.hidden = !message;
    const username = el("input", { id: "username", name: "username", autocomplete: "username", required: true });
    const password = el("input", {
      id: "password",
      name: "password",
      type: "password",
      autocomplete: "current-password",
      required: true,
    });
    const submit = el("button", { type: "submit" }, "Sign in");
    const sign = el(
      "form",
      { class: "sign-in", "aria-label": "Sign in" },
      el("h1", {}, "Sign in"),
      el("label", { for: "username" }, "Username"),
      username,
      el("label", { for: "password" }, "Password"),
      password,
      problem,
      submit,
    );
    sign.addEventListener("submit", async (event) => {
      event.preventDefault();
      submit.disabled = true;
      try {
        await signIn(username.value, password.value);
        await run();
      } catch (error) {
        problem.textContent = error instanceof ApiError ? error.message : `Sign-in failed: ${error}`;
        problem.hidden = false;
        submit.disabled = false;
      }
    });
    main.replaceChildren(sign);
    username.focus();
  }

  window.addEventListener("popstate", () => {
    if (signedIn()) {
      run();
    }
  });
  if (signedIn()) {
    run();
  } else {
    form();
  }
}
