using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AspireBatch.Data.Migrations
{
    /// <summary>
    /// Embeddings (jobs.endpoint and dimensions; items.embedding as float32 bytes) and the opt-in response cache
    /// (response_cache; jobs.response_cache_ttl_seconds and cached_items; items.cached_from), with
    /// response_cache_key(endpoint, model, parameters hash, request hash): the one definition of a cache key, used where
    /// the import looks answers up and where the result write stores them. Each text is length-prefixed, so no model
    /// name can run into the next field.
    /// </summary>
    public partial class EmbeddingsAndResponseCache : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "cached_items",
                table: "jobs",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<int>(
                name: "dimensions",
                table: "jobs",
                type: "integer",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "endpoint",
                table: "jobs",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<int>(
                name: "response_cache_ttl_seconds",
                table: "jobs",
                type: "integer",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "cached_from",
                table: "items",
                type: "bigint",
                nullable: true);

            migrationBuilder.AddColumn<byte[]>(
                name: "embedding",
                table: "items",
                type: "bytea",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "embedding_dimensions",
                table: "items",
                type: "integer",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "response_cache",
                columns: table => new
                {
                    key = table.Column<byte[]>(type: "bytea", nullable: false),
                    source_item_id = table.Column<long>(type: "bigint", nullable: false),
                    source_job_id = table.Column<Guid>(type: "uuid", nullable: false),
                    response_text = table.Column<string>(type: "text", nullable: true),
                    response_body = table.Column<string>(type: "text", nullable: true),
                    finish_reason = table.Column<string>(type: "text", nullable: true),
                    response_model = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    response_id = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    provider_id = table.Column<Guid>(type: "uuid", nullable: true),
                    model_name = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    status_code = table.Column<int>(type: "integer", nullable: true),
                    embedding = table.Column<byte[]>(type: "bytea", nullable: true),
                    embedding_dimensions = table.Column<int>(type: "integer", nullable: true),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    expires_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_response_cache", x => x.key);
                });

            migrationBuilder.CreateIndex(
                name: "ix_response_cache_expires_at",
                table: "response_cache",
                column: "expires_at");

            migrationBuilder.Sql("""
                CREATE OR REPLACE FUNCTION response_cache_key(endpoint integer, model text, parameters_hash text, request_hash bytea) RETURNS bytea
                LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
                    SELECT substring(sha256(convert_to(
                        endpoint::text || ':' || length(model)::text || ':' || model || ':' || coalesce(parameters_hash, ''), 'UTF8') || request_hash) FROM 1 FOR 16)
                $fn$;
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("DROP FUNCTION IF EXISTS response_cache_key(integer, text, text, bytea);");

            migrationBuilder.DropTable(
                name: "response_cache");

            migrationBuilder.DropColumn(
                name: "cached_items",
                table: "jobs");

            migrationBuilder.DropColumn(
                name: "dimensions",
                table: "jobs");

            migrationBuilder.DropColumn(
                name: "endpoint",
                table: "jobs");

            migrationBuilder.DropColumn(
                name: "response_cache_ttl_seconds",
                table: "jobs");

            migrationBuilder.DropColumn(
                name: "cached_from",
                table: "items");

            migrationBuilder.DropColumn(
                name: "embedding",
                table: "items");

            migrationBuilder.DropColumn(
                name: "embedding_dimensions",
                table: "items");
        }
    }
}
