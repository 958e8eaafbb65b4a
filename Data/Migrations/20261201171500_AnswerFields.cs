using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AspireBatch.Data.Migrations
{
    /// <summary>
    /// try_jsonb(text): the text as jsonb, a Markdown ```json fence around it tolerated, or NULL when it is not a JSON
    /// object or array. Postgres 15 has no pg_input_is_valid and a failed ::jsonb cast aborts the whole query, so typed
    /// answer fields (the items filter, the distribution) read answers through it: try_jsonb(response_text) #>> path.
    /// It mirrors AnswerFields.ParseAnswer in the Api, which the exports use. No model change.
    /// </summary>
    public partial class AnswerFields : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                CREATE OR REPLACE FUNCTION try_jsonb(value text) RETURNS jsonb
                LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
                DECLARE
                    body text := btrim(value, E' \t\r\n');
                BEGIN
                    IF body IS NULL OR body = '' THEN
                        RETURN NULL;
                    END IF;
                    IF left(body, 3) = '```' THEN
                        body := substr(body, strpos(body, E'\n') + 1);
                        body := btrim(regexp_replace(body, '```[ \t\r\n]*$', ''), E' \t\r\n');
                    END IF;
                    IF left(body, 1) NOT IN ('{', '[') THEN
                        RETURN NULL;
                    END IF;
                    RETURN body::jsonb;
                EXCEPTION WHEN others THEN
                    RETURN NULL;
                END
                $fn$;
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("DROP FUNCTION IF EXISTS try_jsonb(text);");
        }
    }
}
