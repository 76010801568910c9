package dev.tuskguard.esnode;

import org.elasticsearch.Build;
import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.node.InternalSettingsPreparer;
import org.elasticsearch.node.Node;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Starts one real Elasticsearch node in this JVM, for tuskguard's tests and benchmarks.
 *
 * <p>The node is the stock {@link Node} from the {@code org.elasticsearch:elasticsearch} jar. Its
 * HTTP layer (transport-netty4) is loaded by the stock PluginsService from
 * {@code <es-home>/modules/transport-netty4}, the way a distribution loads its modules. There is
 * no bootstrap (no security manager, no bootstrap checks): this is a test node, bound to
 * 127.0.0.1 only.
 *
 * <p>System properties:
 * <ul>
 *   <li>{@code tuskguard.es.home} (required): the es-home laid out by the Maven build
 *       ({@code target/es-home}: config/ and modules/)</li>
 *   <li>{@code tuskguard.es.base} (required): where data/ and logs/ go</li>
 *   <li>{@code tuskguard.es.port} (default 9201): the HTTP port</li>
 * </ul>
 * Each program argument {@code key=value} is one more node setting (applied last, so it wins).
 */
public final class EsNode {

    private EsNode() {}

    public static void main(String[] args) {
        try {
            run(args);
        } catch (Throwable t) {
            t.printStackTrace();
            // last line of the log = the reason (start prints the log's tail)
            StringBuilder why = new StringBuilder();
            for (Throwable c = t; c != null; c = c.getCause()) {
                why.append(why.length() == 0 ? "" : " <- caused by: ").append(c);
            }
            System.err.println("tuskguard-es: FAILED TO START: " + why);
            System.err.flush();
            // Netty/ES threads may already exist and be non-daemon: do not hang around.
            Runtime.getRuntime().halt(1);
        }
    }

    private static void run(String[] args) throws Exception {
        Path home = Path.of(required("tuskguard.es.home")).toAbsolutePath().normalize();
        Path base = Path.of(required("tuskguard.es.base")).toAbsolutePath().normalize();
        String port = System.getProperty("tuskguard.es.port", "9201");

        Path data = Files.createDirectories(base.resolve("data"));
        Path logs = Files.createDirectories(base.resolve("logs"));

        Settings.Builder settings = Settings.builder()
            .put("path.home", home.toString())
            .put("path.data", data.toString())
            .put("path.logs", logs.toString())
            .put("cluster.name", "tuskguard-test")
            .put("node.name", "tuskguard-es")
            .put("discovery.type", "single-node")
            // loopback only, for both HTTP and the (unused) transport layer
            .put("network.host", "127.0.0.1")
            .put("http.port", port)
            // a nearly full disk must not turn indices read-only or block shard allocation
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            // tests clean up with wildcard deletes (DELETE /tuskguard-test-*)
            .put("action.destructive_requires_name", false)
            // writes <base>/logs/http.ports once HTTP is bound
            .put("node.portsfile", true);
        for (String arg : args) {
            int eq = arg.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("expected key=value, got [" + arg + "]");
            }
            settings.put(arg.substring(0, eq).trim(), arg.substring(eq + 1).trim());
        }

        // Logging first, in the order the real bootstrap uses: ES logger factory and status-logger
        // error listener before anything logs (settings parsing does), then node name, then configure.
        LogConfigurator.configureESLogging();
        LogConfigurator.registerErrorListener();
        Environment environment = InternalSettingsPreparer.prepareEnvironment(
            settings.build(),
            Map.of(),
            home.resolve("config"),
            () -> "tuskguard-es"
        );
        LogConfigurator.setNodeName(Node.NODE_NAME_SETTING.get(environment.settings()));
        LogConfigurator.configure(environment, true);

        Node node = new Node(environment);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                if (node.awaitClose(20, TimeUnit.SECONDS) == false) {
                    System.err.println("tuskguard-es: node did not close within 20s");
                }
            } catch (Exception e) {
                System.err.println("tuskguard-es: error while closing: " + e);
            } finally {
                stopped.countDown();
                org.apache.logging.log4j.LogManager.shutdown();
            }
        }, "tuskguard-es-shutdown"));

        node.start();
        System.out.println(
            "tuskguard-es: started Elasticsearch " + Build.current().version()
                + " on http://127.0.0.1:" + port + " (data " + data + ")"
        );
        System.out.flush();

        // ES pool threads are daemons: keep the JVM alive until a signal runs the shutdown hook.
        stopped.await();
    }

    private static String required(String key) {
        String value = System.getProperty(key);
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException("system property " + key + " is required");
        }
        return value;
    }
}
