package dev.crmmasker.peer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.File;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;

/**
 * The masking job a JVM team would write instead of crm-masker: Debezium JSON in, one masked
 * record per view out (HMAC pseudonyms, drops, masks, date generalisation, a regex scrub),
 * exactly_once_v2, one stream thread. The plan (which column gets what, per view) is written
 * by benchmarks/streams_peer.py from the reference rules. Stops after IDLE_MS without input
 * and prints one JSON line: events, events/s and CPU per event in the busy stretch.
 *
 * <p>java -cp 'target/streams-peer-1.jar:target/lib/*' dev.crmmasker.peer.MaskingJob
 * BOOTSTRAP APPLICATION_ID PLAN_JSON
 */
public final class MaskingJob {
  static final long IDLE_MS = 3000;
  static final ObjectMapper JSON = new ObjectMapper();
  static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  static final Pattern EMAIL = Pattern.compile("[\\w.+-]+@[\\w-]+(?:\\.[\\w-]+)+");
  static final Pattern IBAN =
      Pattern.compile("\\b[A-Z]{2}\\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,4})?\\b");
  static final Pattern PHONE = Pattern.compile("(?:\\+\\d{2}|\\b0)[\\d /-]{6,}\\d");

  /** What happens to one column in one view. */
  record Rule(String action, String domain, int n, String encoding) {}

  /** One view of a source table: its topic, layout and column rules. */
  record View(String topic, boolean envelope, Map<String, Rule> columns) {}

  static final AtomicLong EVENTS = new AtomicLong();

  public static void main(String[] args) throws Exception {
    String bootstrap = args[0];
    String applicationId = args[1];
    JsonNode plan = JSON.readTree(new File(args[2]));
    byte[] hmacKey = HexFormat.of().parseHex(plan.get("hmac_key").asText());
    List<String> sourceFields = new ArrayList<>();
    plan.get("source_fields").forEach(f -> sourceFields.add(f.asText()));
    Map<String, List<View>> views = new HashMap<>();
    Iterator<Map.Entry<String, JsonNode>> sources = plan.get("sources").fields();
    while (sources.hasNext()) {
      Map.Entry<String, JsonNode> source = sources.next();
      List<View> list = new ArrayList<>();
      for (JsonNode view : source.getValue()) {
        Map<String, Rule> columns = new HashMap<>();
        view.get("columns")
            .fields()
            .forEachRemaining(
                c ->
                    columns.put(
                        c.getKey(),
                        new Rule(
                            c.getValue().get("action").asText(),
                            c.getValue().path("domain").asText(""),
                            c.getValue().path("n").asInt(0),
                            c.getValue().path("encoding").asText(""))));
        list.add(new View(view.get("topic").asText(), view.get("envelope").asBoolean(), columns));
      }
      views.put(source.getKey(), list);
    }
    byte[] version = plan.get("rules_version").asText().getBytes(StandardCharsets.UTF_8);
    byte[] sha = plan.get("rules_sha256").asText().getBytes(StandardCharsets.UTF_8);

    Topology topology = new Topology();
    topology.addSource(
        "source",
        new ByteArrayDeserializer(),
        new ByteArrayDeserializer(),
        views.keySet().toArray(new String[0]));
    topology.addProcessor(
        "mask", () -> new Mask(views, hmacKey, sourceFields, version, sha), "source");
    for (List<View> list : views.values()) {
      for (View view : list) {
        topology.addSink(
            "sink:" + view.topic(),
            view.topic(),
            new ByteArraySerializer(),
            new ByteArraySerializer(),
            "mask");
      }
    }
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
    props.put(
        StreamsConfig.STATE_DIR_CONFIG,
        Files.createTempDirectory("crm-masker-streams-peer").toString());
    props.put(StreamsConfig.consumerPrefix("auto.offset.reset"), "earliest");
    KafkaStreams streams = new KafkaStreams(topology, props);
    streams.start();

    com.sun.management.OperatingSystemMXBean os =
        (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    long started = System.currentTimeMillis();
    long seen = 0;
    long firstMs = 0;
    long firstCpu = 0;
    long lastMs = 0;
    long lastCpu = 0;
    while (true) {
      Thread.sleep(100);
      long now = System.currentTimeMillis();
      long count = EVENTS.get();
      if (count != seen) {
        if (seen == 0) {
          firstMs = now;
          firstCpu = os.getProcessCpuTime();
        }
        seen = count;
        lastMs = now;
        lastCpu = os.getProcessCpuTime();
      } else if (seen > 0 && now - lastMs > IDLE_MS) {
        break;
      } else if (seen == 0 && now - started > 600_000) {
        System.err.println("no input within 600 s");
        System.exit(1);
      }
    }
    streams.close(Duration.ofSeconds(10));
    double seconds = Math.max(1e-3, (lastMs - firstMs) / 1000.0);
    ObjectNode result = NODES.objectNode();
    result.put("events", seen);
    result.put("events_per_s", seen / seconds);
    result.put("cpu_us_per_event", (lastCpu - firstCpu) / 1000.0 / seen);
    result.put("busy_from", firstMs / 1000.0);
    result.put("busy_to", lastMs / 1000.0);
    result.put("engine", "Kafka Streams " + org.apache.kafka.common.utils.AppInfoParser.getVersion());
    System.out.println(JSON.writeValueAsString(result));
    System.exit(0);
  }

  /** Masks each change event into its views. */
  static final class Mask implements Processor<byte[], byte[], byte[], byte[]> {
    private final Map<String, List<View>> views;
    private final Mac mac;
    private final List<String> sourceFields;
    private final byte[] version;
    private final byte[] sha;
    private ProcessorContext<byte[], byte[]> context;

    Mask(
        Map<String, List<View>> views,
        byte[] key,
        List<String> sourceFields,
        byte[] version,
        byte[] sha) {
      this.views = views;
      this.sourceFields = sourceFields;
      this.version = version;
      this.sha = sha;
      try {
        mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(key, "HmacSHA256"));
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }

    @Override
    public void init(ProcessorContext<byte[], byte[]> context) {
      this.context = context;
    }

    @Override
    public void process(Record<byte[], byte[]> record) {
      RecordMetadata meta = context.recordMetadata().orElseThrow();
      List<View> targets = views.get(meta.topic());
      EVENTS.incrementAndGet();
      if (targets == null) {
        return;
      }
      try {
        JsonNode key = record.key() == null ? null : JSON.readTree(record.key());
        JsonNode value = record.value() == null ? null : JSON.readTree(record.value());
        for (View view : targets) {
          byte[] outKey = key == null ? null : JSON.writeValueAsBytes(maskRow(key, view));
          byte[] outValue = value == null ? null : render(value, view);
          Headers headers = new RecordHeaders();
          headers.add("crm_masker.rules.version", version);
          headers.add("crm_masker.rules.sha256", sha);
          headers.add("crm_masker.source.topic", meta.topic().getBytes(StandardCharsets.UTF_8));
          headers.add(
              "crm_masker.source.partition",
              Integer.toString(meta.partition()).getBytes(StandardCharsets.UTF_8));
          headers.add(
              "crm_masker.source.offset",
              Long.toString(meta.offset()).getBytes(StandardCharsets.UTF_8));
          context.forward(
              new Record<>(outKey, outValue, record.timestamp(), headers), "sink:" + view.topic());
        }
      } catch (Exception e) {
        // a real job would dead-letter it; the benchmark's input is well-formed
        throw new IllegalStateException("cannot mask " + meta.topic() + "@" + meta.offset(), e);
      }
    }

    private byte[] render(JsonNode value, View view) throws Exception {
      String op = value.path("op").asText("");
      JsonNode before = value.get("before");
      JsonNode after = value.get("after");
      ObjectNode out = NODES.objectNode();
      if (view.envelope()) {
        out.set("before", before == null || before.isNull() ? NODES.nullNode() : maskRow(before, view));
        out.set("after", after == null || after.isNull() ? NODES.nullNode() : maskRow(after, view));
        out.put("op", op);
        out.set("ts_ms", value.path("ts_ms"));
        ObjectNode source = NODES.objectNode();
        JsonNode inSource = value.path("source");
        for (String field : sourceFields) {
          if (inSource.has(field)) {
            source.set(field, inSource.get(field));
          }
        }
        out.set("source", source);
      } else {
        boolean deleted = op.equals("d");
        JsonNode row = deleted ? before : after;
        if (row != null && !row.isNull()) {
          out.setAll(maskRow(row, view));
        }
        out.put("__op", op);
        out.set("__source_ts_ms", value.path("source").path("ts_ms"));
        out.put("__deleted", deleted);
      }
      return JSON.writeValueAsBytes(out);
    }

    private ObjectNode maskRow(JsonNode row, View view) {
      ObjectNode out = NODES.objectNode();
      Iterator<Map.Entry<String, JsonNode>> fields = row.fields();
      while (fields.hasNext()) {
        Map.Entry<String, JsonNode> field = fields.next();
        Rule rule = view.columns().get(field.getKey());
        if (rule == null || rule.action().equals("drop")) {
          continue; // no rule: schema drift, dropped
        }
        out.set(field.getKey(), apply(rule, field.getValue()));
      }
      return out;
    }

    private JsonNode apply(Rule rule, JsonNode value) {
      if (value == null || value.isNull()) {
        return NODES.nullNode();
      }
      switch (rule.action()) {
        case "keep":
          return value;
        case "null":
          return NODES.nullNode();
        case "hmac":
          mac.update(rule.domain().getBytes(StandardCharsets.UTF_8));
          mac.update((byte) 0);
          byte[] digest = mac.doFinal(value.asText().getBytes(StandardCharsets.UTF_8));
          return NODES.textNode(HexFormat.of().formatHex(digest, 0, 16));
        case "mask":
          String text = value.asText();
          int keep = Math.min(rule.n(), text.length());
          return NODES.textNode("*".repeat(text.length() - keep) + text.substring(text.length() - keep));
        case "prefix":
          String prefix = value.asText();
          return NODES.textNode(prefix.substring(0, Math.min(rule.n(), prefix.length())));
        case "year":
        case "month":
          LocalDate date = date(rule.encoding(), value);
          if (date == null) {
            return NODES.nullNode();
          }
          LocalDate start =
              rule.action().equals("year") ? date.withDayOfYear(1) : date.withDayOfMonth(1);
          return NODES.numberNode(start.toEpochDay());
        case "bucket":
          if (!value.isNumber()) {
            return NODES.nullNode();
          }
          long size = Math.max(1, rule.n());
          return NODES.numberNode(Math.floorDiv(value.asLong(), size) * size);
        case "scrub":
          String note = value.asText();
          note = EMAIL.matcher(note).replaceAll("[EMAIL]");
          note = IBAN.matcher(note).replaceAll("[IBAN]");
          note = PHONE.matcher(note).replaceAll("[PHONE]");
          return NODES.textNode(note);
        default:
          return NODES.nullNode();
      }
    }

    private static LocalDate date(String encoding, JsonNode value) {
      if (!value.isNumber()) {
        return null;
      }
      long raw = value.asLong();
      switch (encoding) {
        case "date":
          return LocalDate.ofEpochDay(raw);
        case "milli_timestamp":
          return LocalDate.ofEpochDay(Math.floorDiv(raw, 86_400_000L));
        default: // micro_timestamp
          return LocalDate.ofEpochDay(Math.floorDiv(raw, 86_400_000_000L));
      }
    }
  }
}
