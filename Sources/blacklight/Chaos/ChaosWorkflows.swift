/// The chaos bench's workload: a four-step run with a sleep (parks and resumes), a one-step run, and a cron
/// workflow. Every step writes an effect row in its own transaction with its memo, keyed by run and step, so a
/// step applied twice shows up as a duplicate key; every cron tick writes its tick.
enum ChaosWorkflows {
    static let setupSQL = """
        CREATE TABLE chaos_effects (run_id text NOT NULL, step text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());
        CREATE TABLE chaos_ticks (tick text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());
        """

    static let scripts: [String: String] = [
        "chaos_steps.lua": """
            local function effect(ctx, name)
              db.exec("INSERT INTO chaos_effects (run_id, step) VALUES ($1, $2)", ctx.run_id, name)
            end
            return workflow {
              id = "chaos-steps",
              triggers = { { event = "chaos/steps" } },
              run = function(ctx, step)
                step.run("a", function() effect(ctx, "a") return 1 end)
                step.sleep("nap", 0.2)
                step.run("b", function() effect(ctx, "b") return 2 end)
                return step.run("c", function() effect(ctx, "c") return ctx.event.data.k end)
              end,
            }
            """,
        "chaos_one.lua": """
            return workflow {
              id = "chaos-one",
              triggers = { { event = "chaos/one" } },
              run = function(ctx, step)
                return step.run("a", function()
                  db.exec("INSERT INTO chaos_effects (run_id, step) VALUES ($1, 'a')", ctx.run_id)
                  return ctx.event.data.k
                end)
              end,
            }
            """,
        "chaos_cron.lua": """
            return workflow {
              id = "chaos-cron",
              triggers = { { cron = "* * * * *" } },
              run = function(ctx, step)
                return step.run("a", function()
                  db.exec("INSERT INTO chaos_effects (run_id, step) VALUES ($1, 'a')", ctx.run_id)
                  db.exec("INSERT INTO chaos_ticks (tick) VALUES ($1)", ctx.event.data.tick)
                  return ctx.event.data.tick
                end)
              end,
            }
            """,
    ]
}
